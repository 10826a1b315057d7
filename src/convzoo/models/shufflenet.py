"""ShuffleNet (v1): Zhang et al., "ShuffleNet: An Extremely Efficient Convolutional Neural Network for
Mobile Devices", CVPR 2018.

The paper's Table 1 at 1x width as data: output channels of stages 2-4 per group count g. A unit is
grouped 1x1 conv → BN → ReLU → channel shuffle → 3x3 depthwise conv (stride) → BN → grouped 1x1
conv → BN, added to the input (stride 1) or concatenated with a 3x3/2 average pool of it (stride 2),
then ReLU; the bottleneck has a quarter of the unit's output channels. As in the paper, the first
1x1 conv of stage 2 is not grouped (its 24 input channels are too few). Multiply-adds at 224x224
agree with the paper's Table 2 within a few percent (tested).
Differences: none in the layout; the paper's 0.5x / 0.25x widths are not registered.
Small inputs: below 64 pixels the stem is a 3x3 stride-1 conv without max pooling, so a 32x32 image
reaches stage 2 at 32x32 (the ImageNet stem reaches it at 1/4). The smallest accepted input, 8x8,
leaves 1x1 for stage 4.
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ConvzooError
from ..layers import ChannelShuffle, ConvBNAct
from .registry import register_model
from .stems import SMALL_INPUT_BELOW, Stem, conv_pool_stem, use_small_stem

STAGE_CHANNELS = {1: (144, 288, 576), 2: (200, 400, 800), 3: (240, 480, 960), 4: (272, 544, 1088),
                  8: (384, 768, 1536)}
STAGE_UNITS = (4, 8, 4)
STEM_CHANNELS = 24


class ShuffleUnit(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, stride: int, groups: int,
                 group_first: bool = True):
        super().__init__()
        mid = out_channels // 4
        branch_out = out_channels - in_channels if stride == 2 else out_channels
        self.branch = nn.Sequential(
            ConvBNAct(in_channels, mid, 1, groups=groups if group_first else 1),
            ChannelShuffle(groups if group_first else 1),
            ConvBNAct(mid, mid, 3, stride=stride, groups=mid, act=None),
            ConvBNAct(mid, branch_out, 1, groups=groups, act=None),
        )
        self.pool = nn.AvgPool2d(3, 2, 1) if stride == 2 else None
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.branch(x)
        out = torch.cat([self.pool(x), out], dim=1) if self.pool is not None else out + x
        return self.relu(out)


class ShuffleNetV1(nn.Module):
    def __init__(self, groups: int, num_classes: int, in_channels: int, small_stem: bool = False):
        super().__init__()
        self.stem = conv_pool_stem(in_channels, STEM_CHANNELS, small_stem)  # (N, 24, 56, 56)
        units, channels = [], STEM_CHANNELS
        for stage, (out, count) in enumerate(zip(STAGE_CHANNELS[groups], STAGE_UNITS)):
            for i in range(count):
                units.append(ShuffleUnit(channels, out, 2 if i == 0 else 1, groups,
                                         group_first=not (stage == 0 and i == 0)))
                channels = out
        self.stages = nn.Sequential(*units)  # g=3: (N, 960, 7, 7)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(self.stem(x)))


_SHUFFLENET = {
    "family": "shufflenet", "year": 2018, "input_size": (3, 224, 224), "num_classes": 1000, "min_size": 8,
    "small_input_stem": True, "note": "params counted from the build (the paper gives MACs)",
    "paper": "Zhang et al., ShuffleNet: An Extremely Efficient Convolutional Neural Network for Mobile "
             "Devices",
}


@register_model("shufflenet_v1_g1", params=1_531_936, groups=1, **_SHUFFLENET)
@register_model("shufflenet_v1_g2", params=1_733_848, groups=2, **_SHUFFLENET)
@register_model("shufflenet_v1_g3", params=1_865_728, groups=3, **_SHUFFLENET)
@register_model("shufflenet_v1_g4", params=1_968_344, groups=4, **_SHUFFLENET)
@register_model("shufflenet_v1_g8", params=2_434_768, groups=8, **_SHUFFLENET)
def shufflenet_v1(num_classes: int, in_channels: int, input_size: tuple[int, int], groups: int = 3,
                  stem: Stem = "auto") -> ShuffleNetV1:
    if groups not in STAGE_CHANNELS:
        raise ConvzooError(f"ShuffleNet groups must be one of {sorted(STAGE_CHANNELS)}, got {groups}")
    return ShuffleNetV1(groups, num_classes, in_channels, use_small_stem(stem, input_size, SMALL_INPUT_BELOW))
