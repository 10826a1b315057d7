"""`convzoo zoo`'s table: each row's model, size and cost from the registry, its results from its card.

Parameters and MACs come from the same functions as `convzoo summary` and `convzoo models --macs`
(count_parameters, count_macs), for the model as the row trains it (options, 1x28x28, 10 classes).
A row without a card says "not trained yet": no number is ever filled in from anywhere else.
"""

from __future__ import annotations

import functools

import torch

from ..errors import ConvzooError
from ..tables import Table, Tabular
from . import store
from .rows import INPUT, ROWS, Row


@functools.cache
def complexity(row: Row) -> tuple[int, int]:
    """(parameters, multiply-adds of one 1x28x28 image) of the row's model, built on the meta device
    (once per process: rows are fixed data)."""
    from ..analysis.flops import count_macs
    from ..models import count_parameters, create_model

    with torch.device("meta"):
        model = create_model(row.model, num_classes=10, in_channels=INPUT[0], input_size=INPUT[1:],
                             **row.model_kwargs)
    return count_parameters(model), count_macs(model, (1, *INPUT))


def weights_status(name: str, card: dict | None) -> str:
    if card is None:
        return "-"
    if (store.weights_dir() / f"{name}{store.SUFFIX}").is_file():
        return "shipped"
    try:
        store.zoo_weights(name)
        return "fetched"
    except ConvzooError:  # not downloaded yet
        return "fetch"


def table_row(row: Row) -> dict:
    from ..train.recipes import RECIPES

    params, macs = complexity(row)
    card = store.read_card(row.name)
    result = card["card"] if card else None
    return {
        "name": row.name, "title": row.title, "model": row.model, "options": row.model_kwargs,
        "input": "x".join(map(str, INPUT)), "parameters": params, "macs": macs, "note": row.note,
        "recipe": row.recipe, "epochs": RECIPES[row.recipe].values()["epochs"],
        "accuracy": result["accuracy"] if result else None,
        "status": "trained" if result else "not trained yet",
        "textbook": row.textbook, "textbook_source": row.textbook_source,
        "train_minutes": round(result["accuracy"]["seconds_mean"] / 60, 1) if result else None,
        "machine": result["machine"] if result else None,
        "threads": result["seeds"][0]["threads"] if result else None,
        "weights": weights_status(row.name, card),
    }


class ZooTable(list, Tabular):
    """The zoo's rows (dicts, as `--json` prints them) that show as the table."""

    def table(self) -> Table:
        return zoo_grid(self)


def zoo_table() -> ZooTable:
    return ZooTable(table_row(row) for row in ROWS.values())


def format_accuracy(acc: dict | None) -> str:
    if acc is None:
        return "not trained yet"
    if acc["sd"] is None:
        return f"{acc['mean']:.4f} (1 seed)"
    return f"{acc['mean']:.4f} ± {acc['sd']:.4f} ({acc['seeds']} seeds)"


def format_table(rows: list[dict]) -> str:
    return zoo_grid(rows).text()


def zoo_grid(rows: list[dict]) -> Table:
    from ..tables import Grid, human

    header = ["row", "model", "input", "params", "MACs", "test accuracy (final epoch)", "textbook",
              "min/seed", "recipe", "weights"]
    cells = [[r["name"], r["model"], r["input"], f"{r['parameters']:,}", human(r["macs"]),
              format_accuracy(r["accuracy"]), "-" if r["textbook"] is None else f"{r['textbook']:.3f}",
              "-" if r["train_minutes"] is None else f"{r['train_minutes']:.1f}", r["recipe"], r["weights"]]
             for r in rows]
    lines = [Grid(header, cells, right={2, 3, 4, 7}), ""]
    lines += [f"{r['name']}: {r['title']}; {r['note']}" for r in rows]
    machines = sorted({f"{r['machine']}, {r['threads']} thread(s)" for r in rows if r["machine"]})
    if machines:
        lines.append("times: minutes per seed on " + "; ".join(machines) + " (measured under load: upper bounds)")
    return Table(*lines)
