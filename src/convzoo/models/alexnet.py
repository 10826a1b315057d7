"""AlexNet: Krizhevsky, Sutskever & Hinton, "ImageNet Classification with Deep Convolutional Neural
Networks", NeurIPS 2012.

Explicit Sequential code, because the model is small and the explicit form teaches. Three layouts:
- `alexnet`: the paper's 96-256-384-384-256 convs, ReLU, local response normalisation after the
  first two convs, overlapping 3x3/2 max pooling, dropout 0.5 on the first two dense layers.
  Input 227x227: the paper says 224, but its 11x11/4 first conv only yields the stated 55x55 maps
  from 227 (or from 224 padded by 2; same count). `groups=2` reproduces the two-GPU split, where
  conv2, conv4 and conv5 only see the channels on their own GPU (60,965,224 instead of 62,378,344).
  Torch's LRN divides alpha by the window size, so alpha=5e-4 gives the paper's 1e-4 formula.
- `alexnet_owt`: Krizhevsky, "One weird trick for parallelizing convolutional neural networks",
  2014: one tower of 64-192-384-256-256, no LRN; the torchvision layout.
- `alexnet_small`: d2l's AlexNet for 1x224x224 (upscaled Fashion-MNIST), 10 classes, no LRN.
Options, with the paper's choice first: `activation` relu | sigmoid | tanh (ReLU: the paper's
point, 6x faster to train than tanh), `pooling` max | avg (overlapping 3x3/2 max), `dropout` 0.5
after the first two dense layers (0 = none: an Identity keeps the slot, so keys do not shift),
`norm` lrn | lcn | none after conv1 and conv2 (lrn in `alexnet`: local response normalisation;
lcn: Jarrett et al.'s local contrast normalisation, its 2009 predecessor), `batch_norm` after every conv (before the activation; conv
biases kept, as in the vgg*_bn layout; not in the 2012 paper). The classifier's input width is
computed from the input size (6x6 maps at 227 or 224, 5x5 for d2l's padding of 1), so counts at
other inputs differ. Small inputs: below 67 pixels, where the 11x11/4 stem and three 3x3/2 pools
leave nothing, the first conv is 3x3 stride 1 (28x28 in -> 2x2 maps before the classifier).
Two options serve the lectures' experiments (`convzoo study ablation`), their defaults keeping the
paper's layout: `hidden`, the width of FC6 and FC7 (4096; a narrow AlexNet for 28x28 inputs trains
in seconds with 256), and `remove`, Zeiler & Fergus's ablation (ECCV 2014, Table 3): any of conv3,
conv4, fc6, fc7 left out, the next layer taking the previous one's output (without conv3 and conv4,
conv5 reads conv2's channels; without fc6 and fc7, fc8 reads the flattened conv features).
"""

from __future__ import annotations

import typing
from typing import Literal

from torch import nn

from ..errors import ConvzooError
from ..layers import Activation, LocalNorm, Pooling, check_positive, knobs, output_hw
from .registry import register_model
from .stems import STRIDE4_STEM_MIN, Stem, use_small_stem

Removable = Literal["conv3", "conv4", "fc6", "fc7"]  # Zeiler & Fergus's ablation (Table 3)


_ALEXNET = {
    "family": "alexnet", "year": 2012, "num_classes": 1000, "min_size": 15, "small_input_stem": True,
    "paper": "Krizhevsky et al., ImageNet Classification with Deep Convolutional Neural Networks",
}


@register_model("alexnet", params=62_378_344, input_size=(3, 227, 227), **_ALEXNET)
@register_model("alexnet_owt", params=61_100_840, input_size=(3, 224, 224), widths=(64, 192, 384, 256, 256),
                norm="none", stem_padding=2, **{**_ALEXNET, "year": 2014, "paper": "Krizhevsky, One weird "
                "trick for parallelizing convolutional neural networks"},
                note="single tower, no LRN (torchvision's layout)")
@register_model("alexnet_small", params=46_764_746, input_size=(1, 224, 224), norm="none", stem_padding=1,
                **{**_ALEXNET, "num_classes": 10},
                note="d2l's AlexNet for 1x224x224 Fashion-MNIST: no LRN, 10 classes")
def alexnet(num_classes: int, in_channels: int, input_size: tuple[int, int],
            widths: tuple[int, int, int, int, int] = (96, 256, 384, 384, 256),
            activation: Activation = "relu", pooling: Pooling = "max", dropout: float = 0.5, norm: LocalNorm = "lrn",
            batch_norm: bool = False, groups: int = 1, stem_padding: int = 0,
            stem: Stem = "auto", hidden: int = 4096,
            remove: tuple[Removable, ...] | None = None) -> nn.Sequential:
    """AlexNet and its one-tower and d2l layouts.

    Args:
        widths: the five convs' channels (paper: 96,256,384,384,256; one weird trick: 64,192,384,256,256)
        activation: after every conv and hidden dense layer (paper: relu)
        pooling: the three overlapping 3x3 stride-2 poolings (paper: max)
        dropout: probability after the two hidden dense layers (paper: 0.5); 0 = none
        norm: after conv1 and conv2: lrn (the paper's local response normalisation), lcn (local
            contrast normalisation, Jarrett et al. 2009) or none
        batch_norm: BN after every conv, before the activation (not in the paper)
        groups: 2 = the paper's two-GPU split of conv2, conv4 and conv5
        stem_padding: padding of the 11x11/4 first conv (2 gives 55x55 maps from 224)
        stem: small = 3x3 stride-1 first conv; auto picks it below 67 pixels
        hidden: width of the two hidden dense layers FC6 and FC7 (paper: 4096)
        remove: layers left out: conv3, conv4, fc6, fc7 (Zeiler & Fergus's ablation); none = the whole net
    """
    # The "Args:" above are the options' help (models/options.py); the features below are the network
    # read top to bottom, one explicit Sequential, as the lecture draws it.
    removed = _checked_removals(widths, hidden, groups, remove)
    c1, c2, c3, c4, c5 = widths
    conv1 = _conv1(in_channels, c1, input_size, stem, stem_padding)

    def act(channels: int) -> list[nn.Module]:  # [BN] activation
        return [*([nn.BatchNorm2d(channels)] if batch_norm else []), knobs.activation(activation)]

    middle: list[nn.Module] = []  # conv3 and conv4, unless removed
    channels = c2
    for layer, out, layer_groups in (("conv3", c3, 1), ("conv4", c4, groups)):
        if layer not in removed:
            middle += [nn.Conv2d(channels, out, 3, padding=1, groups=layer_groups), *act(out)]
            channels = out
    features = nn.Sequential(
        conv1, *act(c1), *knobs.local_norm(norm),
        knobs.pool2d(pooling, 3, 2),  # (N, 96, 27, 27)
        nn.Conv2d(c1, c2, 5, padding=2, groups=groups), *act(c2), *knobs.local_norm(norm),
        knobs.pool2d(pooling, 3, 2),  # (N, 256, 13, 13)
        *middle,  # (N, 384, 13, 13)
        nn.Conv2d(channels, c5, 3, padding=1, groups=groups), *act(c5),
        knobs.pool2d(pooling, 3, 2),  # (N, 256, 6, 6)
        nn.Flatten(),  # (N, 9216)
    )
    h, w = output_hw(features, input_size)
    return nn.Sequential(features, _classifier(c5 * h * w, hidden, num_classes, activation, dropout, removed))


def _conv1(in_channels: int, out_channels: int, input_size: tuple[int, int], stem: Stem, padding: int) -> nn.Conv2d:
    """The paper's 11x11 stride-4 first conv, or a 3x3 stride-1 one for small inputs."""
    if use_small_stem(stem, input_size, STRIDE4_STEM_MIN):
        return nn.Conv2d(in_channels, out_channels, 3, padding=1)
    return nn.Conv2d(in_channels, out_channels, 11, stride=4, padding=padding)


def _classifier(fan_in: int, hidden: int, num_classes: int, activation: Activation, dropout: float,
                removed: set[str]) -> nn.Sequential:
    """FC6 and FC7 (each Linear, activation, dropout), unless removed, then FC8."""
    dense: list[nn.Module] = []
    for layer in ("fc6", "fc7"):  # (N, 4096) each
        if layer not in removed:
            dense += [nn.Linear(fan_in, hidden), knobs.activation(activation), knobs.dropout(dropout)]
            fan_in = hidden
    return nn.Sequential(*dense, nn.Linear(fan_in, num_classes))


def _checked_removals(widths, hidden: int, groups: int, remove) -> set[str]:
    """The layers to leave out, once the widths, `hidden` and `groups` are checked."""
    check_positive("widths", *widths)
    check_positive("hidden", hidden)
    removable = typing.get_args(Removable)
    removed = set(remove or ())
    if not removed <= set(removable):
        raise ConvzooError(f"remove takes {', '.join(removable)}, got {','.join(map(str, remove))}")
    check_positive("groups", groups)
    if any(c % groups for c in widths[1:]):
        raise ConvzooError(f"groups={groups} must divide the conv widths {','.join(map(str, widths))}")
    return removed
