"""A comparison's outputs: the Markdown table, compare.json, error against training time on log
axes (compare.png) and a sheet of the distortions the networks trained with (distortions.png)."""

from __future__ import annotations

from pathlib import Path

from ..atomic import write_json, write_text
from ..tables import Grid, Table


def markdown(result) -> str:
    return result_table(result).markdown()


def result_table(result) -> Table:
    """The comparison as compare.md, the terminal and a notebook show it: the setting, the table, the notes."""
    header = ["method", "distortion", "preprocessing", "published error % (source)", "measured error %",
              "parameters", "training time", "inference / 1k images"]
    rows = []
    for r in result.rows:
        published = ("—" if r["published_error_percent"] is None
                     else f"{r['published_error_percent']:g} ({r['published']}; {r['published_train']:,} digits)")
        cells = [r["method"], r["distortion"], r["preprocessing"], published]
        if r["error_percent"] is None:
            rows.append(cells + ["failed", "—", "—", "—"])
            continue
        rows.append(cells + [_measured(r), _count(r["params"]), _seconds(r["train_seconds"]),
                             f"{r['infer_ms_per_1k']:,.0f} ms"])
    notes = [f"- {r['method']}{_distortion(r)}: {n}" for r in result.rows if (n := row_note(r))]
    notes += [f"- {n}" for n in result.notes]
    return Table(result.setting, "", Grid(header, rows, right={4, 5, 6, 7}), *([""] + notes if notes else []))


def _measured(r) -> str:
    if r.get("error_sd") is not None:
        return f"{r['error_percent']:.2f} ± {r['error_sd']:.2f} ({r['runs']} seeds)"
    return f"{r['error_percent']:.2f}"


def _distortion(r) -> str:
    return f" ({r['distortion']})" if r["distortion"] != "none" else ""


def row_note(r) -> str:
    """What the row says beside its numbers; where it misses its published figure by more than a
    tenth, why: the row's own reason and the training digits where they are fewer, or, where it
    beats the figure, the noise of the test set (the binomial sd of an error rate on that many
    digits)."""
    parts = [r["note"]] if r.get("note") else []
    published, measured = r.get("published_error_percent"), r.get("error_percent")
    if published is None or measured is None or abs(measured - published) <= 0.1 * published:
        return "; ".join(parts)
    sd = 100 * (measured / 100 * (1 - measured / 100) / r["test"]) ** 0.5
    noise = f"the binomial sd on {r['test']:,} test digits is {sd:.2f} points"
    if measured < published:
        parts.append(f"below the published {published:g} %: {noise}")
    else:
        reasons = [r["why"]] if r.get("why") else []
        if r["train"] < r["published_train"]:
            reasons.append(f"{r['train']:,} training digits against the paper's {r['published_train']:,}")
        parts.append(f"{measured / published:.1f}x the published error: " + "; ".join(reasons + [noise]))
    return "; ".join(parts)


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


MARKERS = {"classical": ("s", "tab:orange"), "network": ("o", "tab:blue"), "recipe": ("o", "tab:blue"),
           "committee": ("^", "tab:green")}


def _plot(result, path: Path) -> None:
    """Measured test error against training time, both on log axes, each joined by a dotted line
    to its published error (hollow) at the same time; labelled by row key (the table's first column
    is too long for a plot)."""
    from matplotlib.ticker import FuncFormatter, LogLocator

    from ..experiments.figures import figure_at

    with figure_at(path, figsize=(9, 5.5)) as (_fig, ax):
        for r in (r for r in result.rows if r["error_percent"] is not None):
            marker, color = MARKERS[r["kind"]]
            seconds, error = max(r["train_seconds"], 1e-2), max(r["error_percent"], 1e-2)
            ax.scatter(seconds, error, s=50, marker=marker, color=color, zorder=3)
            if r["published_error_percent"] is not None:
                ax.scatter(seconds, r["published_error_percent"], s=50, marker=marker, facecolors="none",
                           edgecolors=color, zorder=3)
                ax.plot([seconds] * 2, [error, r["published_error_percent"]], ":", color=color, lw=1)
            ax.annotate(r["row"], (seconds, error), textcoords="offset points", xytext=(6, 3), fontsize=8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.margins(x=0.4, y=0.1)  # room for the labels right of the points
        ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
        ax.set_xlabel("training time on this machine (s, log)")
        ax.set_ylabel("test error % (log)")
        ax.set_title(f"{result.data}: classical (squares), networks (circles), committees (triangles); "
                     "hollow: published", fontsize=9)
        ax.grid(True, which="both", alpha=0.3)


def distortion_sheet(images, path: Path, seed: int = 0, copies: int = 5) -> None:
    """Each of a few digits (uint8 (N, 1, H, W)) beside `copies` elastic distortions (Simard's sigma 4,
    alpha 34) and `copies` affine + elastic ones, drawn by the engine's augmentation."""
    import torch

    from ..data import Augment
    from ..data.batches import AugmentDraw, augment_batch
    from ..experiments.figures import figure_at

    generator = torch.Generator().manual_seed(seed)
    columns = [("original", None), *[("elastic", "elastic")] * copies, *[("affine+elastic", "affine+elastic")] * copies]
    n = len(images)
    with figure_at(path, figsize=(1.1 * len(columns), 1.15 * n)) as (fig, _ax):
        fig.clf()
        for j, (title, kind) in enumerate(columns):
            if kind is None:
                shown = images
            else:
                augment = Augment.parse(kind)
                shown = augment_batch(images, augment, AugmentDraw.draw(augment, n, generator, tuple(images.shape[1:])))
            for i in range(n):
                ax = fig.add_subplot(n, len(columns), i * len(columns) + j + 1)
                ax.imshow(shown[i, 0].numpy(), cmap="gray_r", vmin=0, vmax=255)
                ax.set_xticks([])
                ax.set_yticks([])
                if i == 0:
                    ax.set_title(title, fontsize=7)
