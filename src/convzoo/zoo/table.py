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


def _result(name: str) -> dict | None:
    card = store.read_card(name)
    return card["card"] if card else None


def beats(ours: dict | None, theirs: dict | None, same_net: bool) -> str:
    """"yes"/"no" only for the same network with >= 2 seeds on each side: "yes" when our mean is
    above theirs by more than the seeds' spread (the sum of the two standard deviations), "no" when
    below by as much, "within spread" between; "-" where it cannot be said."""
    if not same_net or ours is None or theirs is None or ours["sd"] is None or theirs["sd"] is None:
        return "-"
    difference, spread = ours["mean"] - theirs["mean"], ours["sd"] + theirs["sd"]
    return "yes" if difference > spread else "no" if difference < -spread else "within spread"


def _printed(row: Row) -> dict | None:
    t = row.textbook
    return None if t is None else {"accuracy": t.accuracy, "source": t.source, "link": t.link,
                                   "setting": t.setting, "verified": t.verified}


def table_row(row: Row) -> dict:
    from ..train.recipes import RECIPES

    params, macs = complexity(row)
    card = store.read_card(row.name)
    result = card["card"] if card else None
    rerun = _result(row.d2l) if row.d2l else None
    accuracy = result["accuracy"] if result else None
    d2l_accuracy = rerun["accuracy"] if rerun else None
    return {
        "name": row.name, "title": row.title, "built": row.built, "model": row.model, "options": row.model_kwargs,
        "input": "x".join(map(str, INPUT)), "parameters": params, "macs": macs, "note": row.note,
        "recipe": row.recipe, "epochs": RECIPES[row.recipe].values()["epochs"],
        "accuracy": accuracy, "status": "trained" if result else "not trained yet",
        "setup": card.get("setup") if card else None,
        "textbook": row.textbook.accuracy if row.textbook else None, "textbook_source": row.textbook_source,
        "printed": _printed(row), "d2l_recipe": row.d2l, "d2l_accuracy": d2l_accuracy,
        "differs": row.differs, "beats": beats(accuracy, d2l_accuracy, row.same_net),
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


def _short(acc: dict | None, missing: str = "not trained yet") -> str:
    if acc is None:
        return missing
    return f"{acc['mean']:.4f}" + ("" if acc["sd"] is None else f" ± {acc['sd']:.4f}") + f" ({acc['seeds']})"


def _printed_cell(printed: dict | None, sources: list[str]) -> str:
    if printed is None:
        return "-"
    mnist = " MNIST" if printed["setting"].startswith("MNIST") else ""  # the 1998 paper's: another dataset
    unverified = "" if printed["verified"] else "?"
    return f"{printed['accuracy']:.3f}{unverified}{mnist} [{sources.index(printed['source']) + 1}]"


KEY = ("Every accuracy is the final epoch's on Fashion-MNIST's test set at 28x28: mean, sd and (seeds). \"beats\": "
       "only the same network, against our re-run of the textbook's recipe, by more than the sum of the two sds. "
       "\"?\": a figure quoted by an earlier table whose edition was not re-verified.")


def format_table(rows: list[dict]) -> str:
    return zoo_grid(rows).text()


def zoo_grid(rows: list[dict]) -> Table:
    from ..tables import Grid, human

    printed = {r["printed"]["source"]: r["printed"]["link"] for r in rows if r["printed"]}
    sources = list(printed)
    header = ["row", "built", "params", "MACs", "convzoo recipe", "d2l recipe here", "printed", "beats",
              "min/seed", "weights"]
    cells = [[r["name"], r["built"], f"{r['parameters']:,}", human(r["macs"]), _short(r["accuracy"]),
              _short(r["d2l_accuracy"], "not run yet") if r["d2l_recipe"] else "-", _printed_cell(r["printed"], sources),
              r["beats"], "-" if r["train_minutes"] is None else f"{r['train_minutes']:.1f}", r["weights"]]
             for r in rows]
    lines = [Grid(header, cells, right={2, 3, 8}), "", KEY]
    for r in rows:
        differs = f"; differs from the printed run: {r['differs']}" if r["differs"] else ""
        lines.append(f"{r['name']}: {r['title']}; {r['note']}{differs}")
    lines += [f"[{i}] {source}: {link}" for i, (source, link) in enumerate(printed.items(), 1)]
    machines = sorted({f"{r['machine']}, {r['threads']} thread(s)" for r in rows if r["machine"]})
    if machines:
        lines.append("times: minutes per seed on " + "; ".join(machines) + " (measured under load: upper bounds)")
    return Table(*lines)
