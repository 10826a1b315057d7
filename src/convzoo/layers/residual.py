"""Residual blocks: He et al., "Deep Residual Learning for Image Recognition", 2016 (v1),
and "Identity Mappings in Deep Residual Networks", 2016 (v2, pre-activation).

One skeleton, `ResidualBlock`, takes its branch's convolutions; `BasicBlock` (two 3x3) and
`Bottleneck` (1x1 → 3x3 → 1x1) only choose them. Everything else is an option of the same
blocks, so ResNet, ResNeXt, Wide ResNet, SE-ResNet and pre-activation ResNet share them:

- `shortcut="B"`: a 1x1 projection (+ BN) where the shape changes, identity elsewhere (ImageNet
  ResNets). `"A"`: parameter-free, subsample by the stride and append zero channels (the
  paper's CIFAR ResNets).
- `residual=False`: no shortcut and no addition: the paper's "plain" network of the same depth
  (Section 4.1, the degradation experiment).
- `preact=True`: BN → ReLU before each conv, nothing after the addition (v2).
- `activation`: the nonlinearity in place of every ReLU (the paper: ReLU).
- `se_reduction`: a squeeze-and-excitation gate on the branch before the addition (SENet).
- Bottleneck only: `groups` and `base_width` (ResNeXt "32x4d" = 32 groups of width 4; Wide
  ResNet doubles `base_width`), `stride_in_1x1` (v1 strides the first 1x1 conv; v1.5, the
  torchvision default, strides the 3x3, which keeps more information; same parameter count).
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from . import knobs
from .attention import SqueezeExcite
from .knobs import Activation

Shortcut = Literal["A", "B"]


class ZeroPadShortcut(nn.Module):
    """Option A: identity on a strided grid, extra channels filled with zeros (no parameters)."""

    def __init__(self, extra_channels: int, stride: int):
        super().__init__()
        self.extra_channels, self.stride = extra_channels, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, ::self.stride, ::self.stride]
        return F.pad(x, (0, 0, 0, 0, 0, self.extra_channels))


def _shortcut(in_channels: int, out_channels: int, stride: int, kind: Shortcut, preact: bool) -> nn.Module:
    if stride == 1 and in_channels == out_channels:
        return nn.Identity()
    if kind == "A":
        if out_channels < in_channels:
            raise ValueError("a zero-padding shortcut cannot reduce channels")
        return ZeroPadShortcut(out_channels - in_channels, stride)
    if kind != "B":
        raise ValueError(f"shortcut must be 'A' or 'B', got {kind!r}")
    conv = nn.Conv2d(in_channels, out_channels, 1, stride, bias=False)
    # v2 projects the already normalised input, so it needs no BN of its own.
    return conv if preact else nn.Sequential(conv, nn.BatchNorm2d(out_channels))


def _branch(convs: list[nn.Conv2d], preact: bool, activation: Activation) -> nn.Sequential:
    """conv (BN ReLU conv)*: v1 ends with a BN (the ReLU comes after the addition); v2 ends with
    the last conv (the next block normalises)."""
    layers: list[nn.Module] = []
    for i, conv in enumerate(convs):
        layers.append(conv)
        if i < len(convs) - 1:
            layers += [nn.BatchNorm2d(conv.out_channels), knobs.activation(activation)]
        elif not preact:
            layers.append(nn.BatchNorm2d(conv.out_channels))
    return nn.Sequential(*layers)


class ResidualBlock(nn.Module):
    """out = relu(branch(x) + shortcut(x)) (v1), or branch(a) + shortcut(x or a), a = relu(bn(x)) (v2);
    without the shortcut (`residual=False`) out = relu(branch(x)), a plain stack of convs."""

    def __init__(self, convs: list[nn.Conv2d], in_channels: int, stride: int, *, shortcut: Shortcut = "B",
                 preact: bool = False, se_reduction: int | None = None, residual: bool = True,
                 activation: Activation = "relu"):
        super().__init__()
        out_channels = convs[-1].out_channels
        self.pre = (nn.Sequential(nn.BatchNorm2d(in_channels), knobs.activation(activation)) if preact
                    else nn.Identity())
        self.branch = _branch(convs, preact, activation)
        self.se = SqueezeExcite(out_channels, se_reduction) if se_reduction else nn.Identity()
        self.shortcut = _shortcut(in_channels, out_channels, stride, shortcut, preact) if residual else None
        # v2: a projection sees the activated input (He et al.'s code); the identity sees x itself.
        self.project_activated = preact and not isinstance(self.shortcut, (nn.Identity, ZeroPadShortcut))
        self.post = nn.Identity() if preact else knobs.activation(activation)
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        activated = self.pre(x)
        out = self.se(self.branch(activated))
        if self.shortcut is not None:
            out = out + self.shortcut(activated if self.project_activated else x)
        return self.post(out)


def _conv(in_channels: int, out_channels: int, kernel: int, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, kernel, stride, kernel // 2, groups=groups, bias=False)


class BasicBlock(ResidualBlock):
    """Two 3x3 convs (ResNet-18/34 and the CIFAR ResNets)."""

    expansion = 1

    def __init__(self, in_channels: int, planes: int, stride: int = 1, **options):
        convs = [_conv(in_channels, planes, 3, stride), _conv(planes, planes, 3)]
        super().__init__(convs, in_channels, stride, **options)


class Bottleneck(ResidualBlock):
    """1x1 reduce → 3x3 (optionally grouped) → 1x1 expand to `4 * planes` (ResNet-50 and up)."""

    expansion = 4

    def __init__(self, in_channels: int, planes: int, stride: int = 1, *, groups: int = 1,
                 base_width: int = 64, stride_in_1x1: bool = False, **options):
        width = planes * base_width // 64 * groups
        first, middle = (stride, 1) if stride_in_1x1 else (1, stride)
        convs = [
            _conv(in_channels, width, 1, first),
            _conv(width, width, 3, middle, groups=groups),
            _conv(width, planes * self.expansion, 1),
        ]
        super().__init__(convs, in_channels, stride, **options)
