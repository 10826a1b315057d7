"""LeNet-5's distortions (LeCun et al. 1998, sec. III.C): random planar affine transformations,
"horizontal and vertical translations, scaling, squeezing (simultaneous horizontal compression and
vertical elongation, or the reverse), and horizontal shearing", one per image per epoch.

The paper does not give the ranges; these keep a 28x28 digit recognisable: shifts of up to 2
pixels, scale 0.9-1.1, squeeze 0.85-1.15 (width times q, height divided by it), shear up to 0.2.
The paper added 540,000 distortions to its 60,000 digits, so one digit in ten it saw was undistorted:
each image is left as it is with probability ORIGINALS.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

SHIFT = 2.0  # pixels
SCALE = (0.9, 1.1)
SQUEEZE = (0.85, 1.15)
SHEAR = 0.2  # horizontal offset per unit of height
ORIGINALS = 0.1  # 60,000 originals in the paper's 600,000 training patterns


def draw_planar(n: int, size: tuple[int, int], generator: torch.Generator) -> torch.Tensor:
    """(N, 2, 3) sampling matrices for F.affine_grid (output -> input coordinates, in [-1, 1])."""
    h, w = size

    def uniform(low, high):
        return torch.empty(n).uniform_(low, high, generator=generator)

    scale, squeeze, shear = uniform(*SCALE), uniform(*SQUEEZE), uniform(-SHEAR, SHEAR)
    dx, dy = uniform(-SHIFT, SHIFT) * 2 / w, uniform(-SHIFT, SHIFT) * 2 / h
    sx, sy = scale * squeeze, scale / squeeze  # the image's width and height grow by these
    forward = torch.zeros(n, 2, 3)  # image -> distorted image
    forward[:, 0, 0], forward[:, 0, 1], forward[:, 0, 2] = sx, shear * sy, dx
    forward[:, 1, 1], forward[:, 1, 2] = sy, dy
    kept = torch.rand(n, generator=generator) < ORIGINALS
    forward[kept] = torch.eye(2, 3)  # the paper's undistorted tenth
    square = torch.cat([forward, torch.tensor([0.0, 0.0, 1.0]).expand(n, 1, 3)], dim=1)
    return torch.linalg.inv(square)[:, :2]  # grid_sample looks up where each output pixel comes from


def planar_batch(images: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Distort uint8 images (N, C, H, W) by their matrices; what comes from outside is 0 (background)."""
    grid = F.affine_grid(theta.to(images.device), list(images.shape), align_corners=False)
    warped = F.grid_sample(images.float(), grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return warped.round().clamp(0, 255).to(images.dtype)
