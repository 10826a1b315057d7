"""GoogLeNet (Inception v1): Szegedy et al., "Going Deeper with Convolutions", CVPR 2015.

The paper's Table 1 as data: one channel tuple per inception module. As published: biased convs
with ReLU, LRN in the stem, max pooling with ceil rounding (Caffe's), a real 5x5 branch, global
average pooling, dropout 0.4, and two optional auxiliary classifiers after 4a and 4d
(`aux_logits=True`; in training mode the model then returns (logits, aux1, aux2)).
Options and differences:
- `bn=True` (`googlenet_bn`): BN after every conv instead of its bias, no LRN (BN-Inception style
  normalisation on the v1 layout; not a paper model).
- `googlenet_tv`: torchvision's widely used layout, BN and a 3x3 conv in the "5x5" branch
  (`large_kernel=3`); named separately because it is not the paper's network.
- The auxiliary heads pool adaptively to 4x4 (the paper: 5x5/3 average pooling, also 4x4 at 224)
  so they work at every input size.
Small inputs: below 64 pixels the stem is a 3x3 stride-1 conv without the stem's two max pools,
so a 32x32 image reaches the inception modules at 32x32 (the ImageNet stem reaches them at 1/8).
"""

from __future__ import annotations

import torch
from torch import nn

from ..layers import ConvBNAct, check_positive, kaiming_init, knobs
from .registry import register_model
from .stems import Stem, use_small_stem

SMALL_INPUT_BELOW = 64
# (name, 1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool projection); "M" = 3x3/2 max pooling.
INCEPTIONS = [
    ("3a", 64, 96, 128, 16, 32, 32), ("3b", 128, 128, 192, 32, 96, 64), "M",
    ("4a", 192, 96, 208, 16, 48, 64), ("4b", 160, 112, 224, 24, 64, 64), ("4c", 128, 128, 256, 24, 64, 64),
    ("4d", 112, 144, 288, 32, 64, 64), ("4e", 256, 160, 320, 32, 128, 128), "M",
    ("5a", 256, 160, 320, 32, 128, 128), ("5b", 384, 192, 384, 48, 128, 128),
]
AUX_AFTER = ("4a", "4d")


def _pool(stride: int = 2) -> nn.MaxPool2d:
    return nn.MaxPool2d(3, stride, padding=1 if stride == 1 else 0, ceil_mode=True)


class Inception(nn.Module):
    """Four parallel branches concatenated along channels: 1x1, 1x1→3x3, 1x1→5x5, pool→1x1."""

    def __init__(self, in_channels: int, c1: int, c3r: int, c3: int, c5r: int, c5: int, pool_proj: int,
                 bn: bool, large_kernel: int):
        super().__init__()
        self.branches = nn.ModuleList([
            ConvBNAct(in_channels, c1, 1, bn=bn),
            nn.Sequential(ConvBNAct(in_channels, c3r, 1, bn=bn), ConvBNAct(c3r, c3, 3, bn=bn)),
            nn.Sequential(ConvBNAct(in_channels, c5r, 1, bn=bn), ConvBNAct(c5r, c5, large_kernel, bn=bn)),
            nn.Sequential(_pool(stride=1), ConvBNAct(in_channels, pool_proj, 1, bn=bn)),
        ])
        self.out_channels = c1 + c3 + c5 + pool_proj

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([branch(x) for branch in self.branches], dim=1)


class AuxHead(nn.Sequential):
    def __init__(self, in_channels: int, num_classes: int, bn: bool, width: float = 1.0):
        reduced, hidden = knobs.scaled(128, width), knobs.scaled(1024, width)
        super().__init__(
            nn.AdaptiveAvgPool2d(4), ConvBNAct(in_channels, reduced, 1, bn=bn), nn.Flatten(),  # (N, 2048)
            nn.Linear(16 * reduced, hidden), nn.ReLU(), nn.Dropout(0.7), nn.Linear(hidden, num_classes),
        )


class GoogLeNet(nn.Module):
    def __init__(self, num_classes: int, in_channels: int, small_stem: bool = False, bn: bool = False,
                 large_kernel: int = 5, aux_logits: bool = False, width: float = 1.0):
        super().__init__()
        norm = [] if bn else [knobs.lrn("caffe")]
        c64, c192 = knobs.scaled(64, width), knobs.scaled(192, width)
        if small_stem:
            stem = [ConvBNAct(in_channels, c64, 3, bn=bn), *norm]
        else:
            stem = [ConvBNAct(in_channels, c64, 7, stride=2, bn=bn), _pool(), *norm]  # (N, 64, 56, 56)
        stem += [ConvBNAct(c64, c64, 1, bn=bn), ConvBNAct(c64, c192, 3, bn=bn), *norm]
        self.stem = nn.Sequential(*stem, *([] if small_stem else [_pool()]))  # (N, 192, 28, 28)

        self.body = nn.ModuleDict()
        self.aux = nn.ModuleDict()
        channels = c192
        for i, item in enumerate(INCEPTIONS):
            if item == "M":
                self.body[f"pool{i}"] = _pool()
                continue
            name, *branch_widths = item
            self.body[name] = Inception(channels, *(knobs.scaled(c, width) for c in branch_widths), bn=bn,
                                        large_kernel=large_kernel)
            channels = self.body[name].out_channels
            if aux_logits and name in AUX_AFTER:
                self.aux[name] = AuxHead(channels, num_classes, bn, width)
        # (N, 1024, 7, 7)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.4),
                                  nn.Linear(channels, num_classes))
        # fan_in: He's variance-preserving init for the forward pass. Without BN nothing renormalises
        # the signal, and fan_out (right for the backward pass) grows it through the 1x1 reductions:
        # logits of std ~20 at init and a first SGD step that diverges, against ~1.5 with fan_in.
        kaiming_init(self, mode="fan_in")

    def forward(self, x: torch.Tensor):
        x = self.stem(x)
        aux = []
        for name, layer in self.body.items():
            x = layer(x)
            if self.training and name in self.aux:
                aux.append(self.aux[name](x))
        logits = self.head(x)
        return (logits, *aux) if aux else logits


_GOOGLENET = {
    "family": "googlenet", "paper": "Szegedy et al., Going Deeper with Convolutions", "year": 2015,
    "input_size": (3, 224, 224), "num_classes": 1000, "min_size": 4, "small_input_stem": True,
    # Trained as in the paper, with both auxiliary classifiers (their 0.3-weighted losses); the
    # registered counts are the deployed network's, without them.
    "train_options": {"aux_logits": True},
}


@register_model("googlenet", params=6_998_552, **_GOOGLENET)
@register_model("googlenet_bn", params=7_005_832, bn=True, note="BN instead of conv biases, no LRN",
                **_GOOGLENET)
@register_model("googlenet_tv", params=6_624_904, bn=True, large_kernel=3,
                note="torchvision's layout: BN, and 3x3 instead of 5x5 convs in the fourth branch",
                **_GOOGLENET)
def googlenet(num_classes: int, in_channels: int, input_size: tuple[int, int], bn: bool = False,
              large_kernel: int = 5, aux_logits: bool = False, width: float = 1.0,
              stem: Stem = "auto") -> GoogLeNet:
    """GoogLeNet as published, with BN, or in torchvision's layout.

    Args:
        bn: BN after every conv instead of its bias, and no LRN (not in the paper)
        large_kernel: the fourth branch's kernel (paper: 5; torchvision: 3)
        aux_logits: the paper's two auxiliary classifiers after 4a and 4d (paper: on, for training);
            in training mode the model then returns (logits, aux1, aux2), in eval mode logits
        width: channel multiplier for every conv and the auxiliary heads (paper: 1; not in the paper)
        stem: small = 3x3 stride-1 conv without the stem's max pools; auto picks it below 64 pixels
    """
    check_positive("width", width)
    return GoogLeNet(num_classes, in_channels, use_small_stem(stem, input_size, SMALL_INPUT_BELOW),
                     bn=bn, large_kernel=large_kernel, aux_logits=aux_logits, width=width)
