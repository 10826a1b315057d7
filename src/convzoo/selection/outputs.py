"""A finished search's files: results.md (every cell, mean ± sd and its folds), results.json, and
for a full 2-D grid heatmap.png."""

from __future__ import annotations

from pathlib import Path

from ..atomic import write_json, write_text
from ..experiments.figures import figure_at
from ..tables import Grid, Table, markdown_table


def cells_grid(result, grid: dict) -> Grid:
    """Every cell of the search: its values, mean ± sd validation accuracy, the folds, the chosen one."""
    keys = list(grid)
    rows = [[*(_text(c["values"][k]) for k in keys), f"{c['mean']:.4f} ± {c['sd']:.4f}",
             " ".join("-" if f is None else f"{f:.4f}" for f in c["folds"]),
             "chosen" if c is result.best else ""] for c in result.cells]
    return Grid([*keys, f"validation acc ({result.folds}-fold)", "per fold", ""], rows)


def search_table(result) -> Table:
    """The search as a table (SearchResult's Markdown and Jupyter forms)."""
    chosen = [] if result.best is None else [
        f"chosen: {result.best['label']}: validation {result.best['mean']:.4f} ± {result.best['sd']:.4f}"
        + ("" if result.test_accuracy is None else f"; test accuracy {result.test_accuracy:.4f}")]
    return Table(f"search {result.model} on {result.data}", cells_grid(result, result.grid), "", *chosen,
                 *(f"note: {n}" for n in result.notes))


def write_outputs(result, grid: dict, out: Path) -> list[str]:
    keys = list(grid)
    cells = cells_grid(result, grid)
    table = markdown_table(cells.header, cells.rows)
    text = (f"# convzoo search {result.model} on {result.data}\n\n{result.folds}-fold stratified cross-validation on "
            f"{result.train:,} training examples; the chosen cell retrained on all of them and tested once on "
            f"{result.test:,} test examples.\n\n{table}\nchosen: {result.best['label']}: validation "
            f"{result.best['mean']:.4f} ± {result.best['sd']:.4f}; **test accuracy {result.test_accuracy:.4f}** "
            f"(run {result.test_run})\n")
    files = [out / "results.md", out / "results.json"]
    write_text(files[0], text)
    write_json(files[1], result.to_dict())
    if len(keys) == 2 and len(result.cells) == len(grid[keys[0]]) * len(grid[keys[1]]):
        files.append(out / "heatmap.png")
        _heatmap(result, grid, keys, files[-1])
    return [str(f) for f in files]


def _text(value) -> str:
    return ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


def _heatmap(result, grid: dict, keys: list[str], path: Path) -> None:
    """Mean validation accuracy over a 2-D grid, each square labelled mean ± sd; the chosen one boxed."""
    import numpy as np
    from matplotlib.patches import Rectangle

    rows, cols = ([_text(v) for v in grid[k]] for k in keys)
    means, labels = np.full((len(rows), len(cols)), np.nan), [["" for _ in cols] for _ in rows]
    for cell in result.cells:
        r, c = rows.index(_text(cell["values"][keys[0]])), cols.index(_text(cell["values"][keys[1]]))
        means[r, c] = cell["mean"]
        labels[r][c] = f"{cell['mean']:.3f}\n± {cell['sd']:.3f}"
    with figure_at(path, figsize=(max(5.5, 1.6 + 1.3 * len(cols)), max(3.5, 1.2 + 0.9 * len(rows)))) as (fig, ax):
        image = ax.imshow(means, cmap="viridis", aspect="auto")
        fig.colorbar(image, ax=ax, label="validation accuracy")
        ax.set_xticks(range(len(cols)), cols)
        ax.set_yticks(range(len(rows)), rows)
        ax.set_xlabel(keys[1])
        ax.set_ylabel(keys[0])
        finite = means[np.isfinite(means)]
        middle = (finite.min() + finite.max()) / 2 if finite.size else 0
        for r in range(len(rows)):
            for c in range(len(cols)):
                ax.text(c, r, labels[r][c], ha="center", va="center", fontsize=8,
                        color="black" if means[r, c] > middle else "white")
        best = result.best["values"]
        r, c = rows.index(_text(best[keys[0]])), cols.index(_text(best[keys[1]]))
        ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, lw=2.5, edgecolor="red"))
        ax.set_title(f"{result.model}: {result.folds}-fold CV, {result.train:,} examples (box: chosen)", fontsize=9)


