"""A comparison's outputs: the Markdown table, compare.json, and error against training time on log
axes (compare.png)."""

from __future__ import annotations

from pathlib import Path

from ..atomic import write_json, write_text
from ..tables import Grid, Table


def markdown(result) -> str:
    return result_table(result).markdown()


def result_table(result) -> Table:
    header = ["method", "test error %", "parameters", "train time", "inference / 1k images",
              "published error % (source)"]
    rows = []
    for r in result.rows:
        published = "—" if r["published_error_percent"] is None else f"{r['published_error_percent']:g} ({r['published']})"
        if r["error_percent"] is None:
            rows.append([r["method"], "failed", "—", "—", "—", published])
            continue
        rows.append([r["method"], f"{r['error_percent']:.2f}", _count(r["params"]), _seconds(r["train_seconds"]),
                     f"{r['infer_ms_per_1k']:,.0f} ms", published])
    notes = [f"- {r['method']}: {r['note']}" for r in result.rows if r.get("note")]
    notes += [f"- {n}" for n in result.notes]
    return Table(result.setting, "", Grid(header, rows, right={1, 2, 3, 4}), *([""] + notes if notes else []))


def _count(n: int) -> str:
    return f"{n / 1e6:.2f} M" if n >= 1e6 else f"{n / 1e3:.1f} k" if n >= 1e3 else str(n)


def _seconds(s: float) -> str:
    return f"{s / 60:.1f} min" if s >= 120 else f"{s:.1f} s"


def write_outputs(result, out: Path) -> list[str]:
    files = [out / "compare.md", out / "compare.json", out / "compare.png"]
    write_text(files[0], f"# convzoo compare --data {result.data}{' --quick' if result.quick else ''}\n\n"
               + markdown(result))
    write_json(files[1], result.to_dict())
    _plot(result, files[2])
    return [str(f) for f in files]


def _plot(result, path: Path) -> None:
    """Test error against training time, both on log axes: the classical rows and the networks."""
    from matplotlib.ticker import FuncFormatter, LogLocator

    from ..experiments.figures import figure_at

    with figure_at(path, figsize=(8.5, 5)) as (_fig, ax):
        for r in (r for r in result.rows if r["error_percent"] is not None):
            network = r["row"] in ("mlp", "lenet-1998", "lenet-modern", "recipe")
            seconds, error = max(r["train_seconds"], 1e-2), max(r["error_percent"], 1e-2)
            ax.scatter(seconds, error, s=60, marker="o" if network else "s",
                       color="tab:blue" if network else "tab:orange")
            ax.annotate(r["method"], (seconds, error), textcoords="offset points", xytext=(6, 4 if network else -11), fontsize=8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.margins(x=0.45, y=0.1)  # room for the labels right of the points
        ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
        ax.set_xlabel("training time on this machine (s, log)")
        ax.set_ylabel("test error % (log)")
        ax.set_title(f"{result.data}: classical (squares) and networks (circles)")
        ax.grid(True, which="both", alpha=0.3)


