"""The lectures' classic 3x3 image kernels, by name.

Applied by cross-correlation like every conv layer (the kernel is not flipped); all of these are
symmetric under the flip except the two diagonal line detectors, which swap with each other.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Kernel(NamedTuple):
    name: str
    description: str
    weights: np.ndarray  # (3, 3) float64


def _kernel(name: str, description: str, rows) -> Kernel:
    weights = np.array(rows, dtype=np.float64)
    weights.setflags(write=False)
    return Kernel(name, description, weights)


_BLUR_1D = np.array([1.0, 2.0, 1.0])

KERNELS: dict[str, Kernel] = {k.name: k for k in [
    _kernel("edge", "edge detection (Laplacian): 8 at the centre, -1 around; flat regions give 0",
            [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]]),
    _kernel("sharpen", "sharpen: the image plus its Laplacian (centre 5, -1 at the four sides)",
            [[0, -1, 0], [-1, 5, -1], [0, -1, 0]]),
    _kernel("gaussian_blur", "Gaussian blur: outer product of 1-2-1 with itself, divided by 16",
            np.outer(_BLUR_1D, _BLUR_1D) / 16),
    _kernel("line_horizontal", "horizontal line detector: a row of 2 between rows of -1",
            [[-1, -1, -1], [2, 2, 2], [-1, -1, -1]]),
    _kernel("line_vertical", "vertical line detector: a column of 2 between columns of -1",
            [[-1, 2, -1], [-1, 2, -1], [-1, 2, -1]]),
    _kernel("line_45", "45 degree line detector: 2 on the diagonal from bottom-left to top-right",
            [[-1, -1, 2], [-1, 2, -1], [2, -1, -1]]),
    _kernel("line_135", "135 degree line detector: 2 on the diagonal from top-left to bottom-right",
            [[2, -1, -1], [-1, 2, -1], [-1, -1, 2]]),
]}


def kernel_names() -> list[str]:
    return list(KERNELS)
