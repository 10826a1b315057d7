"""The race as one picture: test accuracy against each side's clock, the target, the crossing."""

from __future__ import annotations

import math
from pathlib import Path

from ..figures import figure_result, new_figure

COLOURS = {"textbook": "tab:grey", "convzoo": "tab:blue"}


def plot_race(result, path: str | Path | None = None):
    """Slice accuracy against seconds (log axis, since the sides differ by an order of magnitude),
    each side's final full-test-set accuracy as a large dot, the target as a dashed line and the
    crossing as a star. `result` is a RaceResult. A Figure, or written to `path`."""
    fig = new_figure(figsize=(7, 4.2), layout="constrained")
    ax = fig.subplots()
    for side in (result.textbook, result.convzoo):
        colour = COLOURS[side.name]
        points = [p for p in side.points if p.seconds > 0]
        dense = len(points) > 150  # e.g. the textbook's 50 points an epoch for 10 epochs: thin, or a blur
        ax.plot([p.seconds for p in points], [p.slice_acc for p in points], "-", color=colour, marker="o",
                markersize=1.2 if dense else 2.5, linewidth=0.7 if dense else 1.2,
                label=f"{side.name}: {side.final_acc:.4f} in {side.total_seconds:.1f} s")
        ax.plot([side.total_seconds], [side.final_acc], "o", color=colour, markersize=7)
    ax.axhline(result.target, color="tab:red", linestyle="--", linewidth=1,
               label=f"target {result.target:.4f} (the textbook's final accuracy)")
    crossing = result.convzoo.crossing
    if crossing is not None:
        ax.axvline(crossing.seconds, color="tab:red", linestyle=":", linewidth=1)
        ax.plot([crossing.seconds], [crossing.full_acc], "*", color="tab:red", markersize=13,
                label=f"convzoo reaches it at {crossing.seconds:.1f} s: {result.ratio:.1f}x sooner")
    low = max(0.0, math.floor((result.target - 0.25) * 20) / 20)  # the climb to the target, not from chance
    ax.set(xscale="log", xlabel="seconds on each side's clock (evaluations excluded)", ylim=(low, 1.0),
           ylabel=f"test accuracy ({result.slice_size:,}-image slice)",
           title=f"time to accuracy on {result.data}: the textbook vs convzoo recipe {result.recipe}")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="upper left")  # early and high: the one empty corner
    return figure_result(fig, path, dpi=100)
