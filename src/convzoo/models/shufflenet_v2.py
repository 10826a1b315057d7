"""ShuffleNet V2: Ma et al., "ShuffleNet V2: Practical Guidelines for Efficient CNN Architecture
Design", ECCV 2018.

The paper's Table 5 as data: stage output channels per width multiplier. A stride-1 unit splits the
channels in half, leaves one half alone and runs the other through 1x1 → 3x3 depthwise → 1x1
(equal widths, no grouped 1x1 convs: the paper's guidelines); a stride-2 unit runs both halves
(the left one through a 3x3/2 depthwise + 1x1). Both end by concatenating and shuffling with
2 groups. Counts match torchvision's layout, which is the paper's.
Small inputs: below 64 pixels the stem is a 3x3 stride-1 conv without max pooling; the smallest
accepted input, 8x8, leaves 1x1 for stage 4.
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import unknown_name
from ..layers import ConvBNAct, channel_shuffle
from .registry import register_model
from .stems import SMALL_INPUT_BELOW, Stem, conv_pool_stem, use_small_stem

# stem, stage 2, stage 3, stage 4, last 1x1 conv
STAGE_CHANNELS = {"x0_5": (24, 48, 96, 192, 1024), "x1_0": (24, 116, 232, 464, 1024),
                  "x1_5": (24, 176, 352, 704, 1024), "x2_0": (24, 244, 488, 976, 2048)}
STAGE_UNITS = (4, 8, 4)


def _depthwise(channels: int, stride: int) -> ConvBNAct:
    return ConvBNAct(channels, channels, 3, stride=stride, groups=channels, act=None)


class SplitShuffleUnit(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, stride: int):
        super().__init__()
        half = out_channels // 2
        self.stride = stride
        # stride 1: the left half passes through unchanged; stride 2: both halves see the whole input.
        if stride == 2:
            self.left = nn.Sequential(_depthwise(in_channels, stride), ConvBNAct(in_channels, half, 1))
        else:
            self.left = nn.Identity()
        self.right = nn.Sequential(
            ConvBNAct(in_channels if stride == 2 else half, half, 1),
            _depthwise(half, stride),
            ConvBNAct(half, half, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        left, right = (x, x) if self.stride == 2 else x.chunk(2, dim=1)
        return channel_shuffle(torch.cat([self.left(left), self.right(right)], dim=1), 2)


class ShuffleNetV2(nn.Module):
    def __init__(self, channels: tuple[int, ...], num_classes: int, in_channels: int,
                 small_stem: bool = False):
        super().__init__()
        stem_channels, *stage_channels, last_channels = channels
        self.stem = conv_pool_stem(in_channels, stem_channels, small_stem)  # (N, 24, 56, 56)
        units, width = [], stem_channels
        for out, count in zip(stage_channels, STAGE_UNITS):
            for i in range(count):
                units.append(SplitShuffleUnit(width, out, 2 if i == 0 else 1))
                width = out
        self.stages = nn.Sequential(*units)  # x1_0: (N, 464, 7, 7)
        self.head = nn.Sequential(ConvBNAct(width, last_channels, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                  nn.Linear(last_channels, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(self.stem(x)))


_SHUFFLENET_V2 = {
    "family": "shufflenet", "year": 2018, "input_size": (3, 224, 224), "num_classes": 1000, "min_size": 8,
    "small_input_stem": True,
    "paper": "Ma et al., ShuffleNet V2: Practical Guidelines for Efficient CNN Architecture Design",
}


@register_model("shufflenet_v2_x0_5", params=1_366_792, width="x0_5", **_SHUFFLENET_V2)
@register_model("shufflenet_v2_x1_0", params=2_278_604, width="x1_0", **_SHUFFLENET_V2)
@register_model("shufflenet_v2_x1_5", params=3_503_624, width="x1_5", **_SHUFFLENET_V2)
@register_model("shufflenet_v2_x2_0", params=7_393_996, width="x2_0", **_SHUFFLENET_V2)
def shufflenet_v2(num_classes: int, in_channels: int, input_size: tuple[int, int], width: str = "x1_0",
                  stem: Stem = "auto") -> ShuffleNetV2:
    if width not in STAGE_CHANNELS:
        raise unknown_name("ShuffleNet V2 width", width, list(STAGE_CHANNELS))
    return ShuffleNetV2(STAGE_CHANNELS[width], num_classes, in_channels,
                        use_small_stem(stem, input_size, SMALL_INPUT_BELOW))
