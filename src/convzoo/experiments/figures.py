"""The experiments' figures: one way to open a figure and save it atomically, whole epochs on an
epoch axis. Studies, search and compare draw through it."""

from __future__ import annotations

import contextlib
from pathlib import Path


@contextlib.contextmanager
def figure_at(path: Path, *subplots, kept: dict | None = None, **kwargs):
    """`with figure_at(path, 1, 2, figsize=...) as (fig, axes):` draws, then writes the figure (and
    keeps it in `kept`, by file name)."""
    from matplotlib.ticker import MaxNLocator

    from ..figures import figure_result, new_figure

    fig = new_figure(layout="constrained", **{k: kwargs.pop(k) for k in ("figsize", "dpi") if k in kwargs})
    axes = fig.subplots(*subplots, **kwargs)
    yield fig, axes
    for ax in fig.axes:
        if ax.get_xlabel() == "epoch":  # whole epochs only
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    figure_result(fig, path, dpi=100)
    if kept is not None:
        kept[Path(path).name] = fig
