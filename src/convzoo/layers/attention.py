"""Squeeze-and-excitation: Hu et al., "Squeeze-and-Excitation Networks", 2018."""

from __future__ import annotations

import torch
from torch import nn


class SqueezeExcite(nn.Module):
    """Rescale each channel by a gate computed from the global average of all channels.

    The two fully connected layers are 1x1 convs with biases (as in the reference and timm
    implementations), so the gate works on (N, C, 1, 1) without reshaping.
    """

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.gate = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),  # squeeze: (N, C, 1, 1)
            nn.Conv2d(channels, hidden, 1), nn.ReLU(),
            nn.Conv2d(hidden, channels, 1), nn.Sigmoid(),  # excitation: one weight in (0, 1) per channel
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)
