"""Labelled grids of images (dataset samples, mistakes, filters), drawn with matplotlib (Agg)."""

from __future__ import annotations

import math
from dataclasses import dataclass
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
    images = _channels_last(np.asarray(images))
    n = len(images)
    cols = cols or min(n, max(1, math.ceil(math.sqrt(n))))
    grid = GridLayout.fit(n, cols, cell_inches, titles[:n], title)
    # One axes spanning the figure, in natural inches, with every image placed by its extent and
    # every title as text: an axes per cell (and tight_layout measuring them) takes minutes for a few hundred.
    fig = new_figure(figsize=grid.figsize)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    fixed = images.dtype == np.uint8  # uint8 is drawn on 0..255; floats are scaled per image
    for i in range(n):
        ax.imshow(images[i], cmap=cmap if images[i].ndim == 2 else None, vmin=0 if fixed else None,
                  vmax=255 if fixed else None, interpolation=interpolation, extent=grid.extent(i, *images[i].shape[:2]))
        if i < len(titles):
            ax.text(*grid.label_at(i), titles[i], ha="center", va="top", fontsize=8 * grid.scale)
    if title:
        ax.text(grid.width / 2, grid.height - 0.06, title, ha="center", va="top", fontsize=grid.heading_points(title))
    ax.set_aspect("auto")
    ax.set_xlim(0, grid.width)
    ax.set_ylim(0, grid.height)
    return figure_result(fig, path, dpi=100)


def _channels_last(images: np.ndarray) -> np.ndarray:
    """(N, C, H, W) -> (N, H, W, C), and one channel -> (N, H, W)."""
    if images.ndim == 4:
        images = images.transpose(0, 2, 3, 1)
        if images.shape[-1] == 1:
            images = images[..., 0]
    return images


@dataclass(frozen=True)
class GridLayout:
    """Where the cells go, in natural inches from the bottom left: `cell` inches per column and a
    title line more per row, the heading above, all scaled as one to fit the figure."""
    cols: int
    cell: float  # a cell's side without its title, natural inches
    label_h: float  # the titles' height in a cell
    head: float  # the heading's height above the cells
    width: float  # the figure in natural inches
    height: float
    scale: float  # figure inches per natural inch
    figsize: tuple[float, float]

    PAD, GAP = 0.08, 0.03  # around the grid; around each image in its cell

    @classmethod
    def fit(cls, n: int, cols: int, cell: float, titles: list[str], title: str | None) -> GridLayout:
        rows = max(1, math.ceil(n / cols))
        lines = max((t.count("\n") + 1 for t in titles), default=0)
        label_h = 0.14 * lines + 0.04 if lines else 0.0
        head = 0.2 * (title.count("\n") + 1) + 0.12 if title else cls.PAD
        fig_w, fig_h = cols * cell, rows * (cell + 0.25)
        natural_w, natural_h = cols * cell + 2 * cls.PAD, rows * (cell + label_h) + head + cls.PAD
        scale = min(fig_w / natural_w, fig_h / natural_h)
        return cls(cols, cell, label_h, head, fig_w / scale, fig_h / scale, scale, (fig_w, fig_h))

    @property
    def left(self) -> float:
        return (self.width - self.cols * self.cell) / 2

    def top(self, i: int) -> float:
        return self.height - self.head - i // self.cols * (self.cell + self.label_h)

    def extent(self, i: int, h: int, w: int) -> tuple[float, float, float, float]:
        """An h x w image centred in the box under cell i's title, its aspect kept."""
        box = self.cell - 2 * self.GAP
        side = box / max(h, w)
        x0 = self.left + i % self.cols * self.cell + self.GAP + (box - w * side) / 2
        y0 = self.top(i) - self.label_h - self.GAP - box + (box - h * side) / 2
        return x0, x0 + w * side, y0, y0 + h * side

    def label_at(self, i: int) -> tuple[float, float]:
        return self.left + (i % self.cols + 0.5) * self.cell, self.top(i) - 0.02

    def heading_points(self, title: str) -> float:
        """~0.07 inch per character at 10 points; a longer heading gets a smaller font, not cut."""
        longest = 0.07 * max(map(len, title.splitlines()))
        return 10 * self.scale * min(1.0, (self.width - 2 * self.PAD) / longest)
