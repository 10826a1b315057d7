"""Elastic and affine distortions of whole batches (`--augment elastic`, `affine`, `affine+elastic`).

Elastic (Simard, Steinkraus & Platt, ICDAR 2003, section 2): every pixel gets a random displacement
dx, dy ~ U(-1, 1), each field is smoothed by a Gaussian of sigma pixels and scaled by alpha; the
image is resampled there, bilinearly. Their MNIST values: sigma = 4, alpha = 34 (a smaller sigma makes
the field random noise, a larger one an almost-translation).
Affine (Ciresan et al., "Deep, big, simple neural nets for handwritten digit recognition", 2010): a
rotation of up to +-7.5 degrees and independent horizontal and vertical scaling by up to +-15 %
about the image centre. (They rotated 1s and 7s by up to 15 degrees; a batch augmentation does not
look at labels, so every digit gets the 7.5.)
Both are one displacement field per image, applied in one `grid_sample`; the random numbers are
drawn on the CPU from the run's generator (so a resumed run draws the same distortions).
"""

from __future__ import annotations

import math

import torch

SIMARD_SIGMA, SIMARD_ALPHA = 4.0, 34.0
AFFINE_DEGREES, AFFINE_SCALE = 7.5, 0.15


def draw_fields(n: int, size: tuple[int, int], generator: torch.Generator) -> torch.Tensor:
    """(N, 2, H, W) raw displacements U(-1, 1): rows then columns, before smoothing."""
    return torch.rand((n, 2, *size), generator=generator) * 2 - 1


def draw_affine(n: int, generator: torch.Generator) -> torch.Tensor:
    """(3, N): rotation (radians), vertical scale, horizontal scale."""
    u = torch.rand((3, n), generator=generator) * 2 - 1
    return torch.stack([u[0] * math.radians(AFFINE_DEGREES), 1 + u[1] * AFFINE_SCALE, 1 + u[2] * AFFINE_SCALE])


def smooth(fields: torch.Tensor, sigma: float = SIMARD_SIGMA) -> torch.Tensor:
    """Gaussian smoothing of (N, 2, H, W) fields, separable, zero outside the image (as Simard's
    convolution of the field with a Gaussian kernel)."""
    radius = math.ceil(3 * sigma)
    t = torch.arange(-radius, radius + 1, dtype=fields.dtype, device=fields.device)
    kernel = torch.exp(-t ** 2 / (2 * sigma ** 2))
    kernel = kernel / kernel.sum()
    n, c, h, w = fields.shape
    x = fields.reshape(n * c, 1, h, w)
    x = torch.nn.functional.conv2d(x, kernel.view(1, 1, -1, 1), padding=(radius, 0))
    x = torch.nn.functional.conv2d(x, kernel.view(1, 1, 1, -1), padding=(0, radius))
    return x.reshape(n, c, h, w)


def warp_batch(images: torch.Tensor, fields: torch.Tensor | None, affine: torch.Tensor | None,
               sigma: float = SIMARD_SIGMA, alpha: float = SIMARD_ALPHA) -> torch.Tensor:
    """Resample uint8 images (N, C, H, W) at the affine map of each pixel plus its smoothed, scaled
    elastic displacement; outside the image is black. Returns uint8 in the same range."""
    n, _, h, w = images.shape
    device = images.device
    rows = torch.arange(h, dtype=torch.float32, device=device).view(1, h, 1) - (h - 1) / 2
    cols = torch.arange(w, dtype=torch.float32, device=device).view(1, 1, w) - (w - 1) / 2
    src_r, src_c = rows.expand(n, h, w), cols.expand(n, h, w)
    if affine is not None:  # each output pixel reads from the rotated, scaled position
        angle, scale_r, scale_c = (a.to(device).view(n, 1, 1) for a in affine)
        cos, sin = torch.cos(angle), torch.sin(angle)
        src_r, src_c = (cos * rows - sin * cols) * scale_r, (sin * rows + cos * cols) * scale_c
    if fields is not None:
        displacement = alpha * smooth(fields.to(device))  # (N, 2, H, W) in pixels
        src_r, src_c = src_r + displacement[:, 0], src_c + displacement[:, 1]
    # grid_sample's coordinates: x (columns) then y (rows), -1 and 1 at the outer pixels' centres
    grid = torch.stack([src_c / ((w - 1) / 2), src_r / ((h - 1) / 2)], dim=-1)  # (N, H, W, 2)
    out = torch.nn.functional.grid_sample(images.float(), grid, mode="bilinear", padding_mode="zeros",
                                          align_corners=True)
    return out.round_().clamp_(0, 255).to(images.dtype)
