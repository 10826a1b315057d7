"""The small-input stem choice shared by the ImageNet-size families.

ImageNet stems shrink the image 4x (or more) before the first stage; on 28x28 or 32x32 inputs that
leaves almost nothing for the later stages. Each family documents a small-input stem and a
threshold: `stem="auto"` (the default) picks the small stem when the input's shorter side is below
the threshold; "imagenet" or "small" force one.
"""

from __future__ import annotations

from typing import Literal, get_args

from torch import nn

from ..errors import ConvzooError
from ..layers import ConvBNAct

Stem = Literal["auto", "imagenet", "small"]
STEMS = get_args(Stem)
# "auto" stems: the ImageNet stems shrink by 4x or more before the first block, which would leave a
# 28x28 or 32x32 image a few pixels wide, so below this size the small-input stem is used.
SMALL_INPUT_BELOW = 64
# AlexNet's and NiN's 11x11/4 first conv and three 3x3/2 pools: their ImageNet stem needs 67 pixels.
STRIDE4_STEM_MIN = 67


def use_small_stem(stem: Stem, input_size: tuple[int, int], small_below: int) -> bool:
    if stem not in STEMS:
        raise ConvzooError(f"stem must be one of {', '.join(STEMS)}, got {stem!r}")
    return stem == "small" or (stem == "auto" and min(input_size) < small_below)


def conv_pool_stem(in_channels: int, out_channels: int, small: bool) -> nn.Module:
    """3x3 conv-BN-ReLU at stride 2 and a 3x3/2 max pool (4x smaller, the ShuffleNets' ImageNet
    stem), or the conv alone at stride 1 for small inputs."""
    if small:
        return ConvBNAct(in_channels, out_channels, 3)
    return nn.Sequential(ConvBNAct(in_channels, out_channels, 3, stride=2), nn.MaxPool2d(3, 2, 1))
