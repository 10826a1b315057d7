"""Translate, scale and rotate a batch of images with torch's tensor ops (no torchvision).

Images are (N, C, H, W) floats in pixel units (0 = black); what the transform uncovers is black,
as the border of a Fashion-MNIST or MNIST image is. A translation moves whole pixels (exact: a
pixel at (y, x) lands on (y + dy, x + dx)); scaling and rotation resample bilinearly about the
image centre (`affine_grid` + `grid_sample`), exact for rotations by multiples of 90 degrees.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def translate(images: torch.Tensor, dx: int = 0, dy: int = 0) -> torch.Tensor:
    """Move the content right by dx and down by dy pixels (negative: left, up)."""
    h, w = images.shape[-2:]
    p = max(abs(dx), abs(dy))
    if p == 0:
        return images.clone()
    padded = F.pad(images, (p, p, p, p))  # (N, C, H + 2p, W + 2p), black border
    return padded[..., p - dy:p - dy + h, p - dx:p - dx + w].contiguous()


def _affine(images: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    """Resample `images` at output pixel u -> input position matrix @ u (normalised coordinates)."""
    theta = matrix.to(images.dtype).expand(len(images), 2, 3)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def scale(images: torch.Tensor, factor: float) -> torch.Tensor:
    """Zoom about the centre: 2 doubles every object's size, 0.5 halves it."""
    if factor <= 0:
        raise ValueError(f"scale factor must be positive, got {factor}")
    if factor == 1:
        return images.clone()
    s = 1.0 / factor
    return _affine(images, torch.tensor([[s, 0.0, 0.0], [0.0, s, 0.0]]))


def rotate(images: torch.Tensor, degrees: float) -> torch.Tensor:
    """Rotate about the centre, counter-clockwise as seen on screen (y points down)."""
    if degrees % 360 == 0:
        return images.clone()
    h, w = images.shape[-2:]
    a = math.radians(degrees)
    cos, sin = math.cos(a), math.sin(a)
    # In pixel units, an on-screen counter-clockwise turn samples the input at R(-a) u with y down;
    # normalised coordinates stretch x by 2/W and y by 2/H, hence the aspect factors.
    matrix = torch.tensor([[cos, -sin * h / w, 0.0], [sin * w / h, cos, 0.0]])
    return _affine(images, matrix)


TRANSFORMS = {"translation": "pixels", "scale": "factor", "rotation": "degrees"}


def apply(images: torch.Tensor, kind: str, amount: float) -> torch.Tensor:
    """One of TRANSFORMS by name: translation (horizontal, in pixels), scale, rotation (degrees)."""
    if kind == "translation":
        return translate(images, dx=int(amount))
    if kind == "scale":
        return scale(images, float(amount))
    if kind == "rotation":
        return rotate(images, float(amount))
    raise ValueError(f"unknown transform {kind!r}; known: {', '.join(TRANSFORMS)}")
