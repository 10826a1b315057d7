"""Local contrast normalisation (Jarrett et al., ICCV 2009) as a layer: the normalisation of the
2009-2012 convolutional nets before LRN and batch norm.

Subtract the Gaussian-weighted local mean across and within maps, then divide by the
Gaussian-weighted local standard deviation, or by its mean over the image where that is larger
(max(c, s), c = mean s per image, as in the paper). The formula, the border handling and the
floor are those of reference/contrast.py, which this layer equals in float64
(tests/test_reference_vs_torch.py). No parameters and no buffers: the window (81 numbers) is made
in the input's dtype on each call, so adding the layer changes neither the parameter count nor the
state_dict's keys, and a float64 check is not limited by a float32 copy of the window.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def gaussian_window(size: int, sigma: float, like: torch.Tensor) -> torch.Tensor:
    """(1, 1, size, size) Gaussian weights summing to one, in `like`'s dtype and on its device."""
    r = torch.arange(size, dtype=like.dtype, device=like.device) - (size - 1) / 2
    g = torch.exp(-r * r / (2 * sigma * sigma))
    w = torch.outer(g, g)
    return (w / w.sum())[None, None]


class LocalContrastNorm(nn.Module):
    def __init__(self, size: int = 9, sigma: float = 2.0, eps: float = 1e-4):
        super().__init__()
        if size < 1 or size % 2 == 0 or not sigma > 0 or not eps > 0:
            raise ValueError(f"LocalContrastNorm needs an odd size, sigma > 0 and eps > 0, got {size}, {sigma}, {eps}")
        self.size, self.sigma, self.eps = size, sigma, eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        window = gaussian_window(self.size, self.sigma, x)

        def smooth(z: torch.Tensor) -> torch.Tensor:  # (N, 1, H, W) -> (N, 1, H, W)
            return F.conv2d(z, window, padding=self.size // 2)

        coverage = smooth(x.new_ones(1, 1, *x.shape[2:]))  # the window's weight inside the image
        v = x - smooth(x.mean(1, keepdim=True)) / coverage
        var = smooth((v * v).mean(1, keepdim=True)) / coverage
        s = var.clamp_min(self.eps * self.eps).sqrt()  # clamped first: sqrt's gradient at 0 is infinite
        c = s.mean((2, 3), keepdim=True)
        # where, not maximum: on a tie (a tiny or flat image) the gradient goes to s alone, as in the reference
        return v / torch.where(s >= c, s, c)

    def extra_repr(self) -> str:
        return f"size={self.size}, sigma={self.sigma:g}, eps={self.eps:g}"

