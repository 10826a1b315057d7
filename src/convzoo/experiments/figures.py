"""The experiments' figures: one way to open a figure and save it atomically, whole epochs on an
epoch axis. Studies, search and compare draw through it."""

from __future__ import annotations

import contextlib
from pathlib import Path


@contextlib.contextmanager
def figure_at(path: Path, *subplots, **kwargs):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    from ..atomic import save_figure

    fig, axes = plt.subplots(*subplots, constrained_layout=True, **kwargs)
    try:
        yield fig, axes
        for ax in fig.axes:
            if ax.get_xlabel() == "epoch":  # whole epochs only
                ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        save_figure(fig, path, dpi=100)
    finally:
        plt.close(fig)
