"""Labelled grids of images (dataset samples, mistakes, filters), drawn with matplotlib (Agg)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..atomic import save_figure


def image_grid(images, titles: list[str], path: str | Path, cols: int | None = None,
               title: str | None = None, cell_inches: float = 1.3, cmap: str = "gray",
               interpolation: str | None = None) -> Path:
    """Draw `images` ((N, C, H, W) or (N, H, W), uint8 or float) with one title each.

    Single-channel float images are scaled per image (`cmap`); RGB floats must lie in [0, 1].
    `interpolation="nearest"` shows tiny images (5x5 kernels) as the pixels they are.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    images = np.asarray(images)
    if images.ndim == 4:
        images = images.transpose(0, 2, 3, 1)
        if images.shape[-1] == 1:
            images = images[..., 0]
    n = len(images)
    cols = cols or min(n, max(1, math.ceil(math.sqrt(n))))
    rows = max(1, math.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * cell_inches, rows * (cell_inches + 0.25)),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(images[i], cmap=cmap if images[i].ndim == 2 else None,
                      vmin=0 if images.dtype == np.uint8 else None,
                      vmax=255 if images.dtype == np.uint8 else None, interpolation=interpolation)
            ax.set_title(titles[i], fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    save_figure(fig, path, dpi=100)
    plt.close(fig)
    return Path(path)
