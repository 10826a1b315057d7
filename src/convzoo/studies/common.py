"""Small pieces the studies' analyses share: percentages, per-epoch curves, time to a target."""

from __future__ import annotations

import math

from ..experiments.stats import Comparison, Stat, compare, stat
from .base import Results


def pct(s: Stat, digits: int = 1) -> str:
    """An accuracy Stat as percent: `91.2 ± 0.4`."""
    return s.fmt(digits, scale=100.0)


def points(c: Comparison) -> str:
    """A difference of accuracies in percentage points, signed."""
    return "-" if math.isnan(c.diff) else f"{c.diff * 100:+.1f}"


def claim(name: str, c: Comparison, **extra) -> dict:
    return {"claim": name, **c.to_dict(), **extra}


def compare_runs(results: Results, a: str, b: str, key: str = "test_acc") -> Comparison:
    return compare(results.values(a, key), results.values(b, key))


def mean_curve(results: Results, run: str, key: str = "test_acc") -> tuple[list[int], list[float]]:
    """Epoch numbers and the mean of `key` over the finished seeds of `run`."""
    histories = [r.history for r in results.of(run) if r.status == "finished" and r.history]
    if not histories:
        return [], []
    epochs = min(len(h) for h in histories)
    return list(range(1, epochs + 1)), [stat([h[e][key] for h in histories]).mean for e in range(epochs)]


def errorbars(ax, x, stats: list[Stat], label: str | None = None, scale: float = 100.0) -> None:
    """Each Stat's mean with its sd as an error bar (none for a single seed), in percent by default."""
    ax.errorbar(x, [s.mean * scale for s in stats], yerr=[s.sd * scale if s.n > 1 else 0.0 for s in stats],
                marker="o", capsize=3, label=label)


def plot_mean_curves(ax, results: Results, runs, key: str = "test_acc", scale: float = 100.0) -> None:
    """One line per run: `key` per epoch, the mean over its finished seeds, labelled by the run."""
    for run in runs:
        epochs, values = mean_curve(results, run, key)
        ax.plot(epochs, [v * scale for v in values], marker="o", markersize=3, label=run)


def dot_plot(ax, results: Results, runs, key: str = "test_acc", highlight=()) -> None:
    """Each run's mean ± sd as a dot with bars and every seed as a small grey dot, in percent: a
    difference of a point is not magnified by a bar's cut-off baseline."""
    for i, run in enumerate(runs):
        s = results.stat(run, key)
        ax.errorbar([i], [s.mean * 100], yerr=[s.sd * 100 if s.n > 1 else 0], fmt="o", capsize=4,
                    color="tab:orange" if run in highlight else "tab:blue")
        values = [v * 100 for v in results.values(run, key)]
        ax.scatter([i] * len(values), values, s=10, color="grey", zorder=3)
    ax.set_xticks(range(len(runs)), list(runs))
    ax.set_xlim(-0.6, len(runs) - 0.4)


def finish_axes(*axes, legend: int | str | None = None) -> None:
    """A light grid on every axis, and a legend of this font size where asked."""
    for ax in axes:
        ax.grid(alpha=0.3)
        if legend is not None:
            ax.legend(fontsize=legend)


def epochs_to(history: list[dict], target: float, key: str = "test_acc") -> tuple[int | None, float | None]:
    """(the first epoch whose `key` reaches `target`, the training seconds until then), or Nones."""
    seconds = 0.0
    for row in history:
        seconds += row.get("seconds", 0.0)
        if row.get(key, -1) >= target:
            return row["epoch"], seconds
    return None, None


def to_target(results: Results, run: str, target: float) -> tuple[str, str, list]:
    """Cells for epochs and seconds to `target` over the seeds: `2.0 ± 0.0` or `never (2/3 seeds)`."""
    reached = [epochs_to(r.history, target) for r in results.of(run) if r.status == "finished"]
    hit = [(e, s) for e, s in reached if e is not None]
    total = len(results.of(run))
    if not hit:
        return "never", "-", []
    note = "" if len(hit) == total else f" ({len(hit)}/{total} seeds)"
    return (stat([e for e, _ in hit]).fmt(1) + note, stat([s for _, s in hit]).fmt(1), [e for e, _ in hit])


def millions(n: int) -> str:
    return f"{n / 1e6:.2f}M" if n >= 1e5 else f"{n / 1e3:.1f}K"
