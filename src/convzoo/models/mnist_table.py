"""The convolutional networks of the lectures' MNIST table, as its rows name them.

- `cnn_40_80_500_1000_2000` and `cnn_50_100_500_1000_10`: the 6-layer "784-40-80-500-1000-2000-10"
  and "784-50-100-500-1000-10-10" networks (Romanuke, 2016, 0.31 % and 0.27 % with an expanded
  training set; a committee of 5 of the second, 0.21 %). The row names only the widths; here each
  conv is 5x5 followed by 2x2 max pooling (28 -> 24 -> 12 -> 8 -> 4), then the dense layers.
  The second net's "10-10" is a 10-unit hidden layer before the 10 outputs.
- `cnn_mcdnn_column`: one column of Ciresan, Meier & Schmidhuber's multi-column net (CVPR 2012;
  35 of them, 0.23 %): 1x29x29-20C4-MP2-40C5-MP3-150N-10N. A 28x28 digit is padded by one pixel
  at the bottom and right to the paper's 29x29.
All use tanh, as the papers (theirs scaled by 1.7159): with ReLU the 784-50-100-500-1000-10-10 net
learned little in its first epochs (17 % against tanh's 71 % after 32 steps of AdamW on 2,000
digits; its 10-unit layer loses units to ReLU's dead zone).
"""

from __future__ import annotations

from torch import nn

from ..layers import Activation, check_positive, knobs
from .registry import register_model

_TABLE = {"family": "mnist-table", "input_size": (1, 28, 28), "num_classes": 10, "min_size": 28}
_ROMANUKE = "Romanuke, Training data expansion and boosting of convolutional neural networks for reducing " \
            "the MNIST dataset error rate"


@register_model("cnn_40_80_500_1000_2000", params=3_244_630, paper=_ROMANUKE, year=2016, maps=(40, 80),
                hidden=(500, 1000, 2000), note="5x5 convs and 2x2 max pooling assumed; unscaled tanh", **_TABLE)
@register_model("cnn_50_100_500_1000_10", params=1_438_020, paper=_ROMANUKE, year=2016, maps=(50, 100),
                hidden=(500, 1000, 10), note="5x5 convs and 2x2 max pooling assumed; unscaled tanh", **_TABLE)
@register_model("cnn_mcdnn_column", params=76_040, paper="Ciresan, Meier & Schmidhuber, Multi-column deep "
                "neural networks for image classification", year=2012, maps=(20, 40), kernels=(4, 5),
                pools=(2, 3), hidden=(150,), pad_to=29, note="unscaled tanh", **_TABLE)
def table_cnn(num_classes: int, in_channels: int, input_size: tuple[int, int], maps: tuple[int, ...] = (40, 80),
              kernels: tuple[int, ...] = (5, 5), pools: tuple[int, ...] = (2, 2), hidden: tuple[int, ...] = (500,),
              activation: Activation = "tanh", pad_to: int = 0) -> nn.Sequential:
    """Convs (valid, each followed by max pooling), then dense layers.

    Args:
        maps: each conv's output channels
        kernels: each conv's kernel size
        pools: each conv's max-pooling size (and stride)
        hidden: hidden dense widths
        activation: after every conv and hidden dense layer (papers: scaled tanh)
        pad_to: zero-pad the input at the bottom and right to this size first (0: none)
    """
    check_positive("maps", *maps)
    check_positive("hidden", *hidden)
    if not len(maps) == len(kernels) == len(pools):
        from ..errors import ConvzooError

        raise ConvzooError("maps, kernels and pools need one value per conv")
    h, w = (max(s, pad_to) for s in input_size)
    layers: list[nn.Module] = []
    if pad_to:
        layers.append(nn.ZeroPad2d((0, max(pad_to - input_size[1], 0), 0, max(pad_to - input_size[0], 0))))
    channels = in_channels
    for width, kernel, pool in zip(maps, kernels, pools):
        layers += [nn.Conv2d(channels, width, kernel), knobs.activation(activation), nn.MaxPool2d(pool)]
        channels, h, w = width, (h - kernel + 1) // pool, (w - kernel + 1) // pool
    layers.append(nn.Flatten())  # (N, maps[-1] * h * w)
    fan_in = channels * h * w
    for width in hidden:
        layers += [nn.Linear(fan_in, width), knobs.activation(activation)]
        fan_in = width
    return nn.Sequential(*layers, nn.Linear(fan_in, num_classes))
