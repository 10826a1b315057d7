"""LeNet: LeCun et al., "Gradient-based learning applied to document recognition", 1998.

`lenet` is the textbook (d2l) form of LeNet-5: sigmoid, average pooling, 6-16 channels with 5x5
kernels, dense 120-84-10, and a padded first convolution so that 28x28 MNIST-style images keep
the paper's 28x28 C1 maps. Unlike the paper: full C3 connectivity, plain average pooling instead
of trainable subsampling, and a softmax output instead of RBF units (`lenet5_1998` is the network
as published).
Options (one builder, so every variant takes them all): `activation` relu | sigmoid | tanh (the
paper: a scaled tanh; d2l: sigmoid), `pooling` max | avg (the paper: trainable 2x2 subsampling,
closest to avg), `dropout` after each hidden dense layer (0 = none, as the paper), `batch_norm`
after every conv and hidden dense layer (not in the paper, which predates BN), `keep_bias`,
`channels` and `hidden` widths, the first conv's `padding`. The variants only fix some of them:
- `lenet_bn`: batch norm, biases kept (d2l's BatchNorm LeNet);
- `lenet_modern`: ReLU, max pooling and batch norm, no bias before BN (BN's shift replaces it);
- `lenet_wide`: `lenet_modern` with 32-64 channels and one 128-unit hidden layer (Caffe's LeNet is
  similar): the demo's pretrained digit model, wide enough for 99% on held-out MNIST digits when
  trained on 9,000 (docs/demo.md).
Dropout, when on, adds a layer after each hidden activation (later indices shift); at 0 nothing is
added, so the default layouts (and the shipped checkpoints) keep their state_dict keys.
Explicit Sequential code, because the model is small and the explicit form teaches.
"""

from __future__ import annotations

from torch import nn

from ..errors import ConvzooError
from ..layers import Activation, Pooling, check_positive, knobs
from .registry import register_model

_LENET = {"family": "lenet", "paper": "LeCun et al., Gradient-based learning applied to document recognition",
          "year": 1998, "input_size": (1, 28, 28), "num_classes": 10, "min_size": 12}
_MODERN = {"activation": "relu", "pooling": "max", "batch_norm": True}


def _features_after_convs(input_size: tuple[int, int], channels: int = 16, padding: int = 2) -> int:
    # 5x5 conv (padding 2: "same") -> pool/2 -> 5x5 valid conv -> pool/2
    h, w = (((s + 2 * padding - 4) // 2 - 4) // 2 for s in input_size)
    return channels * h * w


@register_model("lenet", params=61_706, **_LENET)
@register_model("lenet_bn", params=62_158, batch_norm=True, keep_bias=True,
                note="d2l's BatchNorm LeNet: BN after each conv and hidden dense layer; biases kept",
                **_LENET)
@register_model("lenet_modern", params=61_932, **_MODERN,
                note="ReLU, max pooling and batch norm; no bias before BN", **_LENET)
@register_model("lenet_wide", params=258_538, **_MODERN, channels=(32, 64), hidden=(128,),
                note="lenet_modern widened: 32-64 channels, one 128-unit hidden layer", **_LENET)
def lenet(num_classes: int, in_channels: int, input_size: tuple[int, int], activation: Activation = "sigmoid",
          pooling: Pooling = "avg", dropout: float = 0.0, batch_norm: bool = False, keep_bias: bool = False,
          channels: tuple[int, int] = (6, 16), hidden: tuple[int, ...] = (120, 84),
          padding: int = 2) -> nn.Sequential:
    """LeNet-5 and its variants.

    Args:
        activation: after every conv and hidden dense layer (paper: scaled tanh; d2l: sigmoid)
        pooling: the two 2x2 stride-2 poolings (paper: trainable subsampling, an average)
        dropout: probability after each hidden dense layer; 0 = none (the paper has none)
        batch_norm: BN after every conv and hidden dense layer (not in the paper)
        keep_bias: keep the bias of layers followed by BN (d2l's lenet_bn does)
        channels: the two convs' output channels (paper: 6,16)
        hidden: hidden dense widths (paper: 120,84)
        padding: the first conv's zero padding (2 keeps 28x28 maps, as d2l's LeNet; d2l's BN-LeNet
            uses 0, leaving 16x4x4 = 256 features for the first dense layer)
    """
    check_positive("channels", *channels)
    check_positive("hidden", *hidden)
    bias = keep_bias or not batch_norm
    c1, c2 = channels

    def act(kind, n):  # [norm] activation
        return [*([kind(n)] if batch_norm else []), knobs.activation(activation)]

    layers: list[nn.Module] = [
        nn.Conv2d(in_channels, c1, 5, padding=padding, bias=bias), *act(nn.BatchNorm2d, c1),
        knobs.pool2d(pooling, 2),  # (N, 6, 14, 14)
        nn.Conv2d(c1, c2, 5, bias=bias), *act(nn.BatchNorm2d, c2),
        knobs.pool2d(pooling, 2),  # (N, 16, 5, 5)
        nn.Flatten(),  # (N, 400)
    ]
    if padding < 0:
        raise ConvzooError(f"lenet: padding must be >= 0, not {padding}")
    fan_in = _features_after_convs(input_size, c2, padding)
    for width in hidden:  # (N, 120), (N, 84)
        layers += [nn.Linear(fan_in, width, bias=bias), *act(nn.BatchNorm1d, width),
                   *knobs.optional_dropout(dropout)]
        fan_in = width
    return nn.Sequential(*layers, nn.Linear(fan_in, num_classes))
