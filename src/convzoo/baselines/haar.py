"""Haar-like features (Viola & Jones 2001) for the boosted-stumps row of the lectures' table (Kegl &
Busa-Fekete, "Boosting products of base classifiers", ICML 2009: 0.87 % on MNIST with AdaBoost.MH
over products of stumps on Haar features).

Each feature is a weighted sum of rectangle sums; a rectangle sum is four look-ups in the integral
image, so all features of all images are one matrix product: (N, (H+1)(W+1)) integral images times
a sparse (corners, features) matrix of +-weights. Five kinds (Viola & Jones' set):
- two-rect horizontal / vertical: left minus right, top minus bottom halves;
- three-rect horizontal / vertical: the outer thirds minus the middle third;
- four-rect: the diagonal quarters minus the other two.
Windows of SIZES x SIZES pixels (each divisible by 2 and 3) at every STRIDE-th position: 1,280 features.
"""

from __future__ import annotations

import numpy as np

SIZES = (6, 12, 18, 24)
STRIDE = 4
KINDS = ("two-h", "two-v", "three-h", "three-v", "four")


def rectangles(kind: str, top: int, left: int, h: int, w: int) -> list[tuple[int, int, int, int, float]]:
    """(top, left, height, width, weight) of the rectangles making one feature."""
    if kind == "two-h":
        return [(top, left, h, w // 2, 1.0), (top, left + w // 2, h, w // 2, -1.0)]
    if kind == "two-v":
        return [(top, left, h // 2, w, 1.0), (top + h // 2, left, h // 2, w, -1.0)]
    if kind == "three-h":
        third = w // 3
        return [(top, left, h, w, 1.0), (top, left + third, h, third, -2.0)]  # sides - middle
    if kind == "three-v":
        third = h // 3
        return [(top, left, h, w, 1.0), (top + third, left, third, w, -2.0)]
    h2, w2 = h // 2, w // 2
    return [(top, left, h2, w2, 1.0), (top + h2, left + w2, h2, w2, 1.0),
            (top, left + w2, h2, w2, -1.0), (top + h2, left, h2, w2, -1.0)]


def feature_specs(height: int = 28, width: int = 28) -> list[tuple[str, int, int, int, int]]:
    """Every (kind, top, left, h, w) window of the feature set."""
    return [(kind, top, left, h, w) for kind in KINDS for h in SIZES for w in SIZES
            for top in range(0, height - h + 1, STRIDE) for left in range(0, width - w + 1, STRIDE)]


def corner_matrix(specs, height: int, width: int) -> np.ndarray:
    """((H+1)(W+1), F) weights that turn flattened integral images into the features."""
    matrix = np.zeros(((height + 1) * (width + 1), len(specs)))
    for j, spec in enumerate(specs):
        for top, left, h, w, weight in rectangles(*spec):
            for r, c, sign in ((top + h, left + w, 1), (top, left + w, -1), (top + h, left, -1), (top, left, 1)):
                matrix[r * (width + 1) + c, j] += sign * weight
    return matrix


def haar_features(images: np.ndarray, specs=None) -> np.ndarray:
    """(N, H, W) uint8 -> (N, F) float32 features of the [0, 1] images (`specs`: feature_specs())."""
    n, height, width = images.shape
    specs = feature_specs(height, width) if specs is None else specs
    integral = np.zeros((n, height + 1, width + 1))
    integral[:, 1:, 1:] = (images / 255.0).cumsum(1).cumsum(2)
    return (integral.reshape(n, -1) @ corner_matrix(specs, height, width)).astype(np.float32)
