"""VGG: Simonyan & Zisserman, "Very Deep Convolutional Networks for Large-Scale Image Recognition",
ICLR 2015.

The paper's Table 1 as data: one channel list per configuration, "M" for 2x2 max pooling and
(channels, 1) for configuration C's 1x1 convs; the classifier is the paper's 4096-4096-classes
with dropout 0.5 on the first two dense layers. Column A-LRN is column A with `norm="lrn"`
(`vgg11_lrn`): local response normalisation after the first conv, which the paper found did not
help (Table 3), so no deeper configuration has it.
Options, the paper's choice first: `activation` relu | sigmoid | tanh, `pooling` max | avg,
`dropout` 0.5 (0 = none: an Identity keeps the slot, so keys do not shift), `norm` none (lrn:
A-LRN's; lcn: local contrast normalisation, Jarrett et al. 2009, in the same place), and
`batch_norm` off. Differences from the paper:
- `batch_norm=True` adds BN after every conv (not in the paper, which predates BN; the widely used
  vgg*_bn layout: the conv keeps its bias).
- `width` scales the conv channels (not the dense layers), as d2l's narrow VGG for Fashion-MNIST.
- The classifier's input width is computed from the input size, so counts at other inputs differ.
- Small inputs: a pool whose input is already 1 pixel high or wide is skipped, so 28x28
  (whose fifth pool would see 1x1) still works; 32x32 keeps all five pools. The smallest accepted
  input, 16x16, also skips only the fifth pool.
- LRN uses the AlexNet constants (k=2, n=5, alpha=1e-4, beta=0.75); torch divides alpha by n, so
  5e-4 is passed to match the paper's formula.
For the lectures' experiments (`convzoo study`), defaults keeping the paper's networks: `hidden`,
the width of the two hidden dense layers (4096; a narrow VGG for 28x28 trains in seconds with 128),
and the configuration `vgg13_5x5`, the paper's "shallow B" (Section 4.1): B with each pair of 3x3
convs replaced by one 5x5 conv, the comparison behind "several small kernels in series" (the paper
found it 7% worse in top-1 error than B). No registered model uses it. `head="conv"` replaces the
dense classifier by NiN's fully convolutional head (dropout, a 1x1 conv to the classes, global
average pooling; `hidden` unused): a fully convolutional VGG for the dropout study.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from ..errors import ConvzooError, unknown_name
from ..layers import Activation, LocalNorm, Pooling, check_positive, kaiming_init, knobs, output_hw
from .registry import register_model

Head = Literal["dense", "conv"]

CONFIGS: dict[str, list] = {  # Table 1's columns A (and A-LRN, with norm="lrn"), B, C, D, E
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg13": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg16_c": [64, 64, "M", 128, 128, "M", 256, 256, (256, 1), "M", 512, 512, (512, 1), "M",
                512, 512, (512, 1), "M"],
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
              512, 512, 512, 512, "M"],
    "vgg13_5x5": [(64, 5), "M", (128, 5), "M", (256, 5), "M", (512, 5), "M", (512, 5), "M"],  # shallow B
}


def make_features(config: list, in_channels: int, input_size: tuple[int, int], batch_norm: bool = False,
                  width: float = 1.0, activation: Activation = "relu", pooling: Pooling = "max",
                  norm: LocalNorm = "none") -> tuple[nn.Sequential, int, tuple[int, int]]:
    """Layers for one channel list; returns them with the output channels and (H, W)."""
    layers: list[nn.Module] = []
    channels, hw, first_conv = in_channels, tuple(input_size), True
    for item in config:
        if item == "M":
            if min(hw) > 1:  # skipping a pool on a 1-pixel map is the small-input adaptation
                layers.append(knobs.pool2d(pooling, 2, 2))
                hw = output_hw(layers[-1:], hw)
        else:
            out, kernel = item if isinstance(item, tuple) else (item, 3)
            out = knobs.scaled(out, width)
            layers.append(nn.Conv2d(channels, out, kernel, padding=kernel // 2))
            layers += [nn.BatchNorm2d(out)] if batch_norm else []
            layers.append(knobs.activation(activation))
            if first_conv:  # A-LRN: after the first conv only
                layers += knobs.local_norm(norm)
            channels, first_conv = out, False
    return nn.Sequential(*layers), channels, hw


class VGG(nn.Module):
    def __init__(self, config: list, num_classes: int, in_channels: int, input_size: tuple[int, int],
                 batch_norm: bool = False, width: float = 1.0, activation: Activation = "relu",
                 pooling: Pooling = "max", dropout: float = 0.5, norm: LocalNorm = "none", hidden: int = 4096,
                 head: Head = "dense"):
        super().__init__()
        self.features, channels, (h, w) = make_features(config, in_channels, input_size, batch_norm, width,
                                                        activation, pooling, norm)
        if head == "conv":  # NiN's head: one map per class, averaged
            self.classifier = nn.Sequential(knobs.dropout(dropout), nn.Conv2d(channels, num_classes, 1),
                                            nn.AdaptiveAvgPool2d(1), nn.Flatten())
            kaiming_init(self)
            return
        # 224x224 input: (N, 512, 7, 7) -> 25,088 features
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(channels * h * w, hidden), knobs.activation(activation), knobs.dropout(dropout),
            nn.Linear(hidden, hidden), knobs.activation(activation), knobs.dropout(dropout),
            nn.Linear(hidden, num_classes),
        )
        kaiming_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


_VGG = {
    "family": "vgg", "year": 2015, "input_size": (3, 224, 224), "num_classes": 1000, "min_size": 16,
    "small_input_stem": True,
    "paper": "Simonyan & Zisserman, Very Deep Convolutional Networks for Large-Scale Image Recognition",
}


@register_model("vgg11", params=132_863_336, config="vgg11", **_VGG)
@register_model("vgg11_lrn", params=132_863_336, config="vgg11", norm="lrn", **_VGG)
@register_model("vgg13", params=133_047_848, config="vgg13", **_VGG)
@register_model("vgg16_c", params=133_638_952, config="vgg16_c", **_VGG)
@register_model("vgg16", params=138_357_544, config="vgg16", **_VGG)
@register_model("vgg19", params=143_667_240, config="vgg19", **_VGG)
@register_model("vgg11_bn", params=132_868_840, config="vgg11", batch_norm=True, **_VGG)
@register_model("vgg13_bn", params=133_053_736, config="vgg13", batch_norm=True, **_VGG)
@register_model("vgg16_bn", params=138_365_992, config="vgg16", batch_norm=True, **_VGG)
@register_model("vgg19_bn", params=143_678_248, config="vgg19", batch_norm=True, **_VGG)
@register_model("vgg11_narrow", params=43_093_322, config="vgg11", width=0.25,
                **{**_VGG, "input_size": (1, 224, 224), "num_classes": 10},
                note="d2l's narrow VGG-11 for upscaled Fashion-MNIST: conv channels / 4, dense layers "
                     "unchanged; params counted from the build, not a paper figure")
def vgg(num_classes: int, in_channels: int, input_size: tuple[int, int], config: str = "vgg11",
        batch_norm: bool = False, width: float = 1.0, activation: Activation = "relu",
        pooling: Pooling = "max", dropout: float = 0.5, norm: LocalNorm = "none", hidden: int = 4096,
        head: Head = "dense") -> VGG:
    """A VGG from its Table 1 column name (see `CONFIGS`), with the lectures' knobs.

    Args:
        config: Table 1's column: vgg11 (A), vgg13 (B), vgg16_c (C), vgg16 (D), vgg19 (E); vgg13_5x5 is
            the paper's shallow B (one 5x5 conv per pair of B's 3x3 convs)
        batch_norm: BN after every conv (not in the paper)
        width: conv channel multiplier (d2l's narrow VGG: 0.25)
        activation: after every conv and hidden dense layer (paper: relu)
        pooling: the 2x2 stride-2 poolings (paper: max)
        dropout: probability after the two hidden dense layers (paper: 0.5); 0 = none
        norm: after the first conv: none, lrn (paper: only in A-LRN, vgg11_lrn) or lcn (local contrast
            normalisation, Jarrett et al. 2009; not in the paper)
        hidden: width of the two hidden dense layers (paper: 4096)
        head: dense (the paper's three dense layers) | conv (NiN's: dropout, 1x1 conv, global average)
    """
    if config not in CONFIGS:
        raise unknown_name("VGG configuration", config, list(CONFIGS))
    if head not in ("dense", "conv"):
        raise ConvzooError(f"head must be dense or conv, got {head!r}")
    check_positive("width", width)
    check_positive("hidden", hidden)
    return VGG(CONFIGS[config], num_classes, in_channels, input_size, batch_norm, width, activation, pooling,
               dropout, norm, hidden, head)
