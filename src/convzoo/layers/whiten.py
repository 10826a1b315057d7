"""A patch-whitening first layer (airbench's, Keller Jordan 2024): the first convolution's filters
are the principal directions of the training images' patches, each scaled by 1/sqrt(its variance),
in both signs, and frozen. The next layers then see decorrelated inputs of equal variance from the
first step, instead of learning that transform while everything else moves."""

from __future__ import annotations

import torch
from torch import nn


@torch.no_grad()
def whitening_filters(images: torch.Tensor, kernel: int, directions: int, eps: float = 5e-4) -> torch.Tensor:
    """(2 * directions, C, kernel, kernel) filters from `images` (N, C, H, W, normalised): the
    `directions` patch directions of largest variance, whitened, and their negatives."""
    channels = images.shape[1]
    size = channels * kernel * kernel
    if not 1 <= directions <= size:
        raise ValueError(f"a {channels}x{kernel}x{kernel} patch has {size} directions, not {directions}")
    patches = nn.functional.unfold(images.float(), kernel)  # (N, C*k*k, patches per image)
    patches = patches.transpose(1, 2).reshape(-1, size).double()
    covariance = patches.T @ patches / len(patches)
    variances, vectors = torch.linalg.eigh(covariance)  # ascending
    variances, vectors = variances.flip(0)[:directions], vectors.flip(1)[:, :directions]
    filters = (vectors / torch.sqrt(variances.clamp_min(0) + eps)).T.reshape(directions, channels, kernel, kernel)
    return torch.cat([filters, -filters]).float()


def whiten_conv(conv: nn.Conv2d, images: torch.Tensor) -> None:
    """Set `conv`'s filters to `whitening_filters` of `images` (out_channels / 2 directions) and freeze them."""
    kernel = conv.kernel_size[0]
    filters = whitening_filters(images, kernel, conv.out_channels // 2)
    with torch.no_grad():
        conv.weight.copy_(filters.to(conv.weight.dtype))
    conv.weight.requires_grad_(False)
