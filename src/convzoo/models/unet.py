"""U-Net: Ronneberger, Fischer & Brox, "U-Net: Convolutional Networks for Biomedical Image
Segmentation", MICCAI 2015.

A contracting path of double 3x3 convs (64 → 1024 channels) with 2x2 max pooling, an expanding
path of 2x2 stride-2 up-convolutions (ConvTranspose2d) that halve the channels, each followed by a
concatenation with the skip from the contracting path and a double 3x3 conv, and a 1x1 conv to one
map per class. The output is a per-pixel map (N, classes, H', W'), not a vector of logits.
- `unet` is the paper's network: 1 input channel, 2 classes, biased convs, no BN, valid (unpadded)
  convolutions, so the output is smaller than the input (572x572 → 388x388) and each skip is
  centre-cropped to the upsampled map ("copy and crop"). The paper chooses tiles so that every
  pooled map has even size: H and W must be 188, 204, 220, ... (12 mod 16, at least 188).
- `unet_padded` (`padding=1`): same layers with padded convs, so the output keeps the input size;
  any size from 16 up works: an upsampled map one pixel short of its skip is zero-padded.
- `width`: the first level's channels, doubled at each of the four poolings (the paper: 64, so
  64 → 1024). `width=8` (485,682 parameters) trains on 64x64 canvases on a CPU.
31,030,658 parameters (the often quoted 31,031,685 is zhixuhao's Keras U-Net: 3 input channels,
an extra 3x3 conv to 2 maps and a sigmoid 1x1 conv to 1 map). Weights start from the paper's
Gaussian with std sqrt(2 / fan-in). Dropout at the end of the contracting path (mentioned in the
paper as augmentation) and the weighted loss are not included: they belong to training, not the
network.
"""

from __future__ import annotations

import itertools
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConvzooError
from ..layers import check_positive, kaiming_init
from .registry import register_model

WIDTHS = (64, 128, 256, 512, 1024)
VALID_SHRINK = 184  # 572 → 388: four 3x3 valid convs lose 2 pixels each, scaled up by the poolings


def double_conv(in_channels: int, out_channels: int, padding: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, padding=padding), nn.ReLU(),
                         nn.Conv2d(out_channels, out_channels, 3, padding=padding), nn.ReLU())


class UNet(nn.Module):
    def __init__(self, num_classes: int, in_channels: int, padding: int = 0,
                 widths: tuple[int, ...] = WIDTHS):
        super().__init__()
        self.padding = padding
        ins = (in_channels, *widths[:-1])
        self.down = nn.ModuleList(double_conv(i, o, padding) for i, o in zip(ins, widths))
        deep = widths[::-1]  # 1024, 512, 256, 128, 64
        self.up = nn.ModuleList(nn.ConvTranspose2d(i, o, 2, stride=2) for i, o in itertools.pairwise(deep))
        self.merge = nn.ModuleList(double_conv(2 * o, o, padding) for o in deep[1:])
        self.head = nn.Conv2d(widths[0], num_classes, 1)
        kaiming_init(self, mode="fan_in")

    def _join(self, skip: torch.Tensor, up: torch.Tensor) -> torch.Tensor:
        dh, dw = skip.shape[-2] - up.shape[-2], skip.shape[-1] - up.shape[-1]
        if self.padding == 0:  # copy and crop: the centre of the skip
            skip = skip[..., dh // 2: dh // 2 + up.shape[-2], dw // 2: dw // 2 + up.shape[-1]]
        else:  # an odd-sized map lost a pixel to pooling; pad the upsampled map back to the skip's size
            up = F.pad(up, (dw // 2, dw - dw // 2, dh // 2, dh - dh // 2))
        return torch.cat([skip, up], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i, block in enumerate(self.down):
            x = block(F.max_pool2d(x, 2) if i else x)
            skips.append(x)
        # valid, 572x572 input: (N, 1024, 28, 28) at the bottom
        skips.pop()
        for up, merge in zip(self.up, self.merge):
            x = merge(self._join(skips.pop(), up(x)))
        return self.head(x)  # valid: (N, classes, 388, 388)


def _check_size(input_size: tuple[int, int], padding: int) -> None:
    levels = len(WIDTHS) - 1
    if padding == 0 and any(s < VALID_SHRINK + 4 or s % 2 ** levels != 12 for s in input_size):
        raise ConvzooError(f"valid U-Net needs sides of 188, 204, 220, ... (12 mod 16), got {input_size}; "
                           "use unet_padded for other sizes")


_UNET = {
    "family": "unet", "year": 2015, "input_size": (1, 572, 572), "num_classes": 2, "params": 31_030_658,
    "paper": "Ronneberger et al., U-Net: Convolutional Networks for Biomedical Image Segmentation",
}


@register_model("unet", min_size=188, note="valid convolutions: output is 184 pixels smaller", **_UNET)
@register_model("unet_padded", min_size=16, padding=1,
                note="padded convolutions: output keeps the input size", **_UNET)
def unet(num_classes: int, in_channels: int, input_size: tuple[int, int], padding: Literal[0, 1] = 0,
         width: int = 64) -> UNet:
    """The paper's U-Net, valid or padded.

    Args:
        padding: 0 = valid convolutions, the paper's (output 184 pixels smaller); 1 = same-size output
        width: the first level's channels, doubled at each pooling (paper: 64, i.e. 64 to 1024)
    """
    check_positive("width", width)
    _check_size(input_size, padding)
    return UNet(num_classes, in_channels, padding, tuple(width * 2 ** i for i in range(len(WIDTHS))))
