"""Labelled grids of images (dataset samples, mistakes, filters), drawn with matplotlib (Agg)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..figures import figure_result, new_figure

MAX_GRID = 400  # pictures in one grid: more cells are too small to read, and take minutes to draw


def image_grid(images, titles: list[str], path: str | Path | None = None, cols: int | None = None,
               title: str | None = None, cell_inches: float = 1.3, cmap: str = "gray",
               interpolation: str | None = None):
    """Draw `images` ((N, C, H, W) or (N, H, W), uint8 or float) with one title each: the Figure,
    or with `path` the file written (convzoo.figures).

    Single-channel float images are scaled per image (`cmap`); RGB floats must lie in [0, 1].
    `interpolation="nearest"` shows tiny images (5x5 kernels) as the pixels they are.
    """
    images = np.asarray(images)
    if images.ndim == 4:
        images = images.transpose(0, 2, 3, 1)
        if images.shape[-1] == 1:
            images = images[..., 0]
    n = len(images)
    cols = cols or min(n, max(1, math.ceil(math.sqrt(n))))
    rows = max(1, math.ceil(n / cols))
    # One axes spanning the figure, in inches, with every image placed by its extent and every
    # title as text: an axes per cell (and tight_layout measuring them) takes minutes for a few hundred.
    # The figure is `cell_inches` per column and a title line more per row; the cells, their titles
    # and the heading are laid out in natural inches and scaled as one to fit it.
    lines = max((t.count("\n") + 1 for t in titles[:n]), default=0)
    label_h = 0.14 * lines + 0.04 if lines else 0.0
    cell_h = cell_inches + label_h
    pad, gap = 0.08, 0.03
    head = 0.2 * (title.count("\n") + 1) + 0.12 if title else pad
    fig_w, fig_h = cols * cell_inches, rows * (cell_inches + 0.25)
    natural_w, natural_h = cols * cell_inches + 2 * pad, rows * cell_h + head + pad
    scale = min(fig_w / natural_w, fig_h / natural_h)
    width, height = fig_w / scale, fig_h / scale  # the figure in natural inches
    left = (width - cols * cell_inches) / 2
    fig = new_figure(figsize=(fig_w, fig_h))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    box = cell_inches - 2 * gap
    for i in range(n):
        r, c = divmod(i, cols)
        top = height - head - r * cell_h  # natural inches from the bottom
        h, w = images[i].shape[:2]
        side = box / max(h, w)
        x0 = left + c * cell_inches + gap + (box - w * side) / 2
        y0 = top - label_h - gap - box + (box - h * side) / 2
        ax.imshow(images[i], cmap=cmap if images[i].ndim == 2 else None,
                  vmin=0 if images.dtype == np.uint8 else None, vmax=255 if images.dtype == np.uint8 else None,
                  interpolation=interpolation, extent=(x0, x0 + w * side, y0, y0 + h * side))
        if i < len(titles):
            ax.text(left + (c + 0.5) * cell_inches, top - 0.02, titles[i], ha="center", va="top",
                    fontsize=8 * scale)
    if title:  # ~0.07 inch per character at 10 points; a longer heading gets a smaller font, not cut
        longest = 0.07 * max(map(len, title.splitlines()))
        ax.text(width / 2, height - 0.06, title, ha="center", va="top",
                fontsize=10 * scale * min(1.0, (width - 2 * pad) / longest))
    ax.set_aspect("auto")
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    return figure_result(fig, path, dpi=100)
