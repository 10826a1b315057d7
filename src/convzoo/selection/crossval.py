"""Grid search by stratified K-fold cross-validation, through the ordinary engine.

For each cell of the grid and each of K folds (scikit-learn's shuffled StratifiedKFold over the
training labels), the cell's configuration is trained on K-1 folds and scored by its final-epoch
accuracy on the held-out fold; a cell's score is the mean ± sd over its folds. The best cell (highest
mean; ties: smaller sd, then grid order) is retrained on the whole training set, and only that run
sees the test set. Nothing is chosen on the test set: the retrained run's per-epoch test figures are
a record, the final epoch's is the answer.

Every training is a normal run directory, OUT/runs/cellNN-foldK and OUT/best, so an interrupted
search resumes where it stopped (finished runs are read back, half-finished ones resumed), and
`--shard I/N` / `--jobs N` spread the runs over processes as the studies do (studies/runner.py).
A run whose loss blew up scores chance on its fold and is not retried.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..atomic import claim_folder
from ..errors import ConvzooError
from ..experiments.processes import run_shards, to_stderr
from ..experiments.runs import read_finished, train_or_read
from ..experiments.stats import stat
from ..tables import Table, Tabular
from .grid import Cell, cells_of, check_cell_models, parse_grid
from .outputs import search_table, write_outputs

STATE_FILE = "search.json"


@dataclass
class SearchResult(Tabular):
    model: str
    data: str
    folds: int
    train: int
    test: int
    grid: dict
    cells: list[dict]  # {"values", "label", "mean", "sd", "folds": [...], "diverged": n}
    best: dict | None = None
    test_accuracy: float | None = None
    test_run: str | None = None
    out: str = ""
    files: list[str] = field(default_factory=list)
    complete: bool = True
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self),
                "rule": "chosen by mean validation accuracy over stratified K-fold CV on the training set; the "
                        "test set is used only by the chosen cell's retrained run"}

    def table(self) -> Table:
        return search_table(self)


def search(model: str, grid_items: list[str], *, folds: int = 3, sample: int | None = None,
           data: str = "fashion-mnist", data_dir=None, train_size: int | None = None, test_holdout=None,
           settings: dict | None = None, model_args: list[str] | None = None, seed: int = 0, out=None,
           threads: int = 0, shard: tuple[int, int] | None = None, jobs: int = 1, log=None) -> SearchResult:
    """Run (or resume) the search; see the module docstring. `settings` are fixed TrainConfig values
    (the flags given beside --grid), `model_args` fixed `--model-arg` pairs."""
    from ..models.userspec import model_label, options_of, parse_args_of

    started = time.perf_counter()
    log = log or to_stderr
    options_of(model)  # an unknown model (or a mistake in the user's FILE.py) fails first
    grid = parse_grid(model, grid_items)
    plain_grid = {k: [_plain(v) for v in vs] for k, vs in grid.items()}
    cells = cells_of(model, grid, sample, seed)
    fixed_kwargs = parse_args_of(model, model_args or [])
    settings = dict(settings or {})
    data_dir = None if data_dir is None else str(data_dir)
    _check_jobs_and_data(jobs, data)
    out = Path(out) if out else Path("runs") / f"search-{model_label(model)}-{data}"
    configs = [_config(model, cell, fixed_kwargs, settings, data, data_dir, seed, threads, out / "best")
               for cell in cells]  # every cell's settings are checked before any data loads
    check_cell_models(model, cells, fixed_kwargs, data)
    bundle = _load(data, data_dir, train_size, test_holdout, seed)
    splits = _folds(bundle.train.labels.numpy(), folds, seed)
    _claim(out, {"model": model, "data": data, "grid": plain_grid, "cells": [c.key for c in cells], "folds": folds,
                 "seed": seed, "train": len(bundle.train), "settings": settings, "model_kwargs": _plain(fixed_kwargs)})
    if jobs > 1 and shard is None:
        _run_jobs(jobs, model, grid_items, folds, sample, data, data_dir, train_size, test_holdout, settings,
                  model_args or [], seed, out, log)

    plan = [(i, k) for i in range(len(cells)) for k in range(folds)]
    mine = plan if shard is None else plan[shard[0]::shard[1]]
    log(f"search {model} on {data}: {len(cells)} cells x {folds} folds = {len(plan)} runs on "
        f"{len(bundle.train):,} training examples, then the best cell on all of them; in {out}"
        + (f" (shard {shard[0]}/{shard[1]}: {len(mine)} runs)" if shard else ""))
    scores = _score_folds(plan, mine, cells, configs, bundle, splits, out, log)
    result = SearchResult(model, data, folds, len(bundle.train), len(bundle.test), plain_grid, [], out=str(out),
                          notes=list(bundle.notes))
    result.cells = [_cell_row(cell, [scores.get((i, k)) for k in range(folds)]) for i, cell in enumerate(cells)]
    if shard is not None:  # the best cell is retrained once, by the plain run that finishes the search
        result.complete = False
        log(f"shard {shard[0]}/{shard[1]} done ({len(plan) - len(scores)} runs left to other shards); run the "
            "command without --shard to finish the search")
    else:
        _retrain_best(result, configs, bundle, out, log)
        result.files = write_outputs(result, grid, out)
    result.seconds = time.perf_counter() - started
    return result


def _check_jobs_and_data(jobs: int, data: str) -> None:
    from ..data import dataset_spec

    if jobs < 1:
        raise ConvzooError(f"--jobs must be at least 1, not {jobs}")
    if dataset_spec(data).task != "classification":
        raise ConvzooError(f"search needs a classification dataset (stratified folds); {data} is not one")


def _score_folds(plan, mine, cells, configs, bundle, splits, out: Path, log) -> dict:
    """Train (or read back) each (cell, fold) of `mine`, then read those of `plan` that another shard
    or an earlier invocation finished: {(cell, fold): (accuracy, status)}. Fails naming the runs that
    failed, after the others are done."""
    scores: dict[tuple[int, int], tuple[float, str]] = {}
    failures = []
    folds = len(splits)
    for index, (i, k) in enumerate(mine, 1):
        fold_bundle = _fold_bundle(bundle, splits[k], k, folds)
        config = dataclasses.replace(configs[i], out=str(out / "runs" / f"cell{i:02d}-fold{k}"))
        tag = f"[{index}/{len(mine)}] cell {i + 1}/{len(cells)} ({cells[i].label}) fold {k + 1}/{folds}"
        try:
            scores[i, k] = train_or_read(config, fold_bundle, tag, len(mine) - index, log)
        except ConvzooError as exc:
            failures.append(f"cell{i:02d}-fold{k}: {exc}")
            log(f"{tag}: failed: {exc}")
    for i, k in plan:
        if (i, k) not in scores:
            done = read_finished(out / "runs" / f"cell{i:02d}-fold{k}")
            if done is not None:
                scores[i, k] = done
    if failures:
        raise ConvzooError(f"search: {len(failures)} run(s) failed ({'; '.join(failures)}); the finished runs are "
                           f"kept in {out}; the same command retries the others")
    return scores


def _retrain_best(result: SearchResult, configs, bundle, out: Path, log) -> None:
    """Choose the best cell (highest mean; ties: smaller sd, then grid order), retrain it on the whole
    training set and test it once."""
    cells = result.cells
    best_index = max(range(len(cells)), key=lambda i: (cells[i]["mean"], -cells[i]["sd"], -i))
    result.best = cells[best_index]
    log(f"chosen: {result.best['label']} (validation {result.best['mean']:.4f} ± {result.best['sd']:.4f}); "
        f"retraining it on all {len(bundle.train):,} training examples and testing it once")
    accuracy, _ = train_or_read(configs[best_index], bundle, "[best]", 0, log)
    result.test_accuracy, result.test_run = accuracy, str(out / "best")


# ---- data and folds -----------------------------------------------------------------------------

def _load(data, data_dir, train_size, test_holdout, seed):
    from ..data import load_dataset
    from ..data.sampling import with_train_size

    return with_train_size(load_dataset(data, data_dir, test_holdout=test_holdout, seed=seed), train_size, seed)


def _folds(labels, folds: int, seed: int) -> list[tuple]:
    """StratifiedKFold's (train, validation) index pairs; K must leave every class in every fold."""
    import numpy as np
    from sklearn.model_selection import StratifiedKFold

    smallest = int(np.bincount(labels).min())
    if isinstance(folds, bool) or not 2 <= folds <= smallest:
        raise ConvzooError(f"--folds must be between 2 and {smallest} (the smallest class's training examples), "
                           f"not {folds}")
    return list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(np.zeros(len(labels)), labels))


def _fold_bundle(bundle, split, k: int, folds: int):
    import torch

    train_index, val_index = (torch.from_numpy(s) for s in split)
    note = (f"fold {k + 1} of {folds}: trained on {len(train_index):,}, scored on the held-out {len(val_index):,} "
            "(reported as 'test'; the real test set is not used)")
    return dataclasses.replace(bundle, train=bundle.train.subset(train_index), test=bundle.train.subset(val_index),
                               val=None, notes=[*bundle.notes, note])


# ---- runs ------------------------------------------------------------------------------------------

def _config(model, cell: Cell, fixed_kwargs, settings, data, data_dir, seed, threads, run_dir):
    from ..train import TrainConfig

    values = {**settings, **dict(cell.settings)}
    kwargs = {**fixed_kwargs, **dict(cell.model_kwargs)}
    try:
        return TrainConfig(model=model, model_kwargs=kwargs, data=data, data_dir=data_dir, seed=seed,
                           threads=threads, progress=False, out=str(run_dir), **values)
    except ConvzooError as exc:
        raise ConvzooError(f"grid cell {cell.label}: {exc}") from None


def _cell_row(cell: Cell, scores: list) -> dict:
    values = [s[0] for s in scores if s is not None]
    s = stat(values)
    return {"values": _plain(cell.values), "label": cell.label, "mean": s.mean, "sd": s.sd,
            "folds": [None if x is None else x[0] for x in scores],
            "diverged": sum(1 for x in scores if x is not None and x[1] == "diverged")}


def _plain(value):
    """JSON-friendly: tuples as lists, numpy scalars as Python numbers."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value.item() if hasattr(value, "item") else value


# ---- the search's folder and outputs ------------------------------------------------------------

def _claim(out: Path, state: dict) -> None:
    """Make OUT, or check that it holds this same search (its runs would otherwise be reused)."""
    claim_folder(out, STATE_FILE, json.loads(json.dumps(state, default=_plain)),
                 lambda h: "another search (other model, grid, folds, data or settings)")


# ---- processes ---------------------------------------------------------------------------------------

def _run_jobs(jobs, model, grid_items, folds, sample, data, data_dir, train_size, test_holdout, settings,
              model_args, seed, out, log) -> None:
    """N processes of this search, each a shard, sharing the cores; waits for all of them."""
    from ..train.config import flag_name

    command = ["search", model, "--folds", str(folds), "--data", data, "--seed", str(seed), "--out", str(out)]
    command += [a for item in grid_items for a in ("--grid", item)]
    command += [a for item in model_args for a in ("--model-arg", item)]
    for flag, value in (("--random", sample), ("--data-dir", data_dir), ("--train-size", train_size),
                        ("--test-holdout", test_holdout)):
        if value is not None:
            command += [flag, str(value)]
    for key, value in settings.items():
        if isinstance(value, bool):
            command.append(flag_name(key) if value else "--no-" + flag_name(key)[2:])
        else:
            command += [flag_name(key), str(value)]
    run_shards(jobs, command, log)
