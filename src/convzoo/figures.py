"""The one way convzoo makes a picture: a matplotlib `Figure` made without pyplot (no backend is
switched, nothing global is kept, any thread may draw), returned to Python or written by the CLI.

Every picture function takes `path=None`: without it the Figure comes back (a notebook shows it);
with it the figure is written atomically and the path comes back (what the CLI and the report do).
Imports matplotlib only when called, so every layer may use it.
"""

from __future__ import annotations

import sys
from pathlib import Path


def new_figure(**kwargs):
    """A Figure (`figsize`, `dpi`, `layout`, ...) of no pyplot window, drawn with Agg when saved."""
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def figure_result(fig, path: str | Path | None, **savefig):
    """`fig` itself when `path` is None; else `fig` written to `path` (atomically) and the Path."""
    if path is None:
        if "ipykernel" in sys.modules:  # a notebook: its backend shows a returned Figure inline
            import matplotlib.pyplot  # noqa: F401 - activates the kernel's inline display of figures
        return fig
    from .atomic import save_figure

    save_figure(fig, path, **{"dpi": 100, **savefig})
    return Path(path)
