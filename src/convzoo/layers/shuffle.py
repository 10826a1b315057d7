"""Channel shuffle: Zhang et al., "ShuffleNet", 2018.

Grouped 1x1 convs only mix channels inside a group; shuffling between two grouped convs lets
information cross groups. Channels are viewed as (groups, C / groups), transposed, flattened:
with 2 groups, [a0 a1 a2 b0 b1 b2] becomes [a0 b0 a1 b1 a2 b2].
"""

from __future__ import annotations

import torch
from torch import nn


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    n, c, h, w = x.shape
    if c % groups:
        raise ValueError(f"{c} channels cannot be split into {groups} groups")
    return x.view(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)


class ChannelShuffle(nn.Module):
    def __init__(self, groups: int):
        super().__init__()
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return channel_shuffle(x, self.groups)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"
