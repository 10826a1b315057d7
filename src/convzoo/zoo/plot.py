"""The zoo's accuracy against cost (`convzoo zoo plot`): the lectures' chart of ImageNet
architectures (accuracy against operations, parameters as the size of the marker), for the zoo's
rows on Fashion-MNIST at 28x28.

Each trained row is one circle: its final-epoch test accuracy (mean over seeds) against its
multiply-adds for one 28x28 image (log scale), its area proportional to its parameters, its colour
its family, labelled by the row; an open circle of the same colour is the same network trained by
the textbook's recipe, where it was re-run. Untrained rows are left out (and listed in the caption).
"""

from __future__ import annotations

from pathlib import Path

AREA_PER_PARAM = 1200 / 1_000_000  # points^2 per parameter: a 1 M-parameter net is a 1,200 pt^2 disc


def _family(row: dict) -> str:
    from ..models import model_info

    return model_info(row["model"]).family


def zoo_figure(rows: list[dict]):
    """A matplotlib Figure of `rows` (zoo_table()'s dicts); returned, not shown or saved."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    trained = [r for r in rows if r["accuracy"] is not None]
    families = sorted({_family(r) for r in trained})
    palette = matplotlib.colormaps["tab20"].colors  # 20 distinct colours: one per family

    def colours(i):
        return palette[(2 * i) % 20 + (2 * i) // 20]  # the saturated ten first, then their light pairs

    fig = Figure(figsize=(12, 6.5), constrained_layout=True)
    ax = fig.add_subplot()
    for r in trained:
        colour = colours(families.index(_family(r)))
        accuracy = r["accuracy"]["mean"] * 100
        ax.scatter(r["macs"], accuracy, s=max(r["parameters"] * AREA_PER_PARAM, 12), color=colour, alpha=0.55,
                   edgecolors="black", linewidths=0.6)
        ax.annotate(r["name"], (r["macs"], accuracy), xytext=(6, 4), textcoords="offset points", fontsize=8)
        if r.get("d2l_accuracy"):  # the same network by the textbook's recipe: an open disc below or above
            textbook = r["d2l_accuracy"]["mean"] * 100
            ax.scatter(r["macs"], textbook, s=max(r["parameters"] * AREA_PER_PARAM, 12), facecolors="none",
                       edgecolors=colour, linewidths=1.2)
            ax.annotate(f"{r['name']}, d2l's recipe", (r["macs"], textbook), xytext=(6, -10),
                        textcoords="offset points", fontsize=7, color="dimgrey")
    for family in families:  # one legend entry per family, at a fixed size
        ax.scatter([], [], s=60, color=colours(families.index(family)), alpha=0.55, edgecolors="black",
                   label=family)
    for params in (100_000, 1_000_000):  # the size key
        ax.scatter([], [], s=params * AREA_PER_PARAM, color="white", edgecolors="black", label=f"{params:,} params")
    ax.set_xscale("log")
    ax.set(xlabel="multiply-adds per 28x28 image (log scale)", ylabel="test accuracy % (final epoch, mean over seeds)",
           title="The zoo on Fashion-MNIST: accuracy against operations, parameters as area")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1), labelspacing=1.3, borderpad=1,
              title="family; area = parameters")
    missing = [r["name"] for r in rows if r["accuracy"] is None]
    if missing:
        fig.text(0.01, 0.005, "not trained yet: " + ", ".join(missing), fontsize=7)
    return fig


def write_plot(path: str | Path, rows: list[dict] | None = None) -> Path:
    """Draw the zoo's chart into `path` (PNG, or the format its suffix names), written atomically."""
    from ..atomic import save_figure
    from .table import zoo_table

    path = Path(path)
    save_figure(zoo_figure(zoo_table() if rows is None else rows), path, dpi=110)
    return path
