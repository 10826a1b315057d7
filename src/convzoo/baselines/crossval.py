"""`convzoo baseline cv`: scikit-learn's GridSearchCV with a shuffled StratifiedKFold on the training
set only; the chosen cell, refitted on all of it, is tested once."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConvzooError
from .failures import check_options, sklearn_call
from .run import arrays, evaluation_of, load_data
from .table import get_baseline, parse_value, resolve_options


def parse_grid(baseline, items: list[str]) -> dict:
    """["k=1,3,5", "weights=uniform,distance"] -> {"k": [1, 3, 5], ...}, each value of its option's type."""
    if not items:
        raise ConvzooError("--grid is empty: give at least one KEY=V1,V2,...")
    grid = {}
    for item in items:
        key, sep, values = item.partition("=")
        key = key.strip()
        parts = [v.strip() for v in values.split(",")]
        if not sep or not key or not any(parts) or not all(parts):
            raise ConvzooError(f"--grid takes KEY=V1,V2,..., not {item!r}")
        resolve_options(baseline, {key: parts[0]})  # an unknown key fails here, with a suggestion
        grid[key] = [parse_value(v, baseline.options[key], key) for v in parts]
        for v in grid[key]:
            resolve_options(baseline, {key: v})
    return grid


@dataclass
class SearchResult:
    baseline: str
    data: str
    features: str
    folds: int
    train: int
    cells: list  # [{"options": {...}, "mean": float, "sd": float, "folds": [...]}]
    best: dict
    test_accuracy: float
    test: int

    def to_dict(self) -> dict:
        return {"baseline": self.baseline, "data": self.data, "features": self.features, "folds": self.folds,
                "train": self.train, "test": self.test, "cells": self.cells, "best": self.best,
                "test_accuracy": self.test_accuracy,
                "note": "chosen by stratified K-fold cross-validation on the training set only; "
                        "the test set is used once, for the chosen cell"}


def select(baseline, options: dict, grid: dict, x: np.ndarray, y: np.ndarray, folds: int, seed: int = 0):
    """GridSearchCV with StratifiedKFold on (x, y) (training data only). Returns (cells, best cell,
    the best estimator refitted on all of x)."""
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    smallest = int(np.bincount(y).min()) if len(y) else 0
    if not 2 <= folds <= smallest:
        raise ConvzooError(f"--folds must be between 2 and the smallest class's {smallest} training examples, "
                           f"not {folds}")
    search = GridSearchCV(baseline.factory(options), {baseline.param(k): v for k, v in grid.items()},
                          cv=StratifiedKFold(folds, shuffle=True, random_state=seed), refit=True, n_jobs=1,
                          error_score="raise")
    with sklearn_call(baseline.name, len(y)):
        search.fit(x, y)
    r = search.cv_results_
    back = {baseline.param(k): k for k in grid}
    cells = []
    for i, params in enumerate(r["params"]):
        per_fold = [float(r[f"split{f}_test_score"][i]) for f in range(folds)]
        cells.append({"options": {back[k]: _plain(v) for k, v in params.items()},
                      "mean": float(r["mean_test_score"][i]), "sd": float(r["std_test_score"][i]), "folds": per_fold})
    return cells, cells[search.best_index_], search.best_estimator_


def _plain(v):
    return v.item() if isinstance(v, np.generic) else v


def cross_validate(name: str, data: str, grid_items: list[str], *, folds: int = 5, data_dir=None,
                   train_size: int | None = None, features: str = "raw", options: dict | None = None,
                   seed: int = 0) -> SearchResult:
    baseline = get_baseline(name)
    opts = resolve_options(baseline, options or {})
    grid = parse_grid(baseline, grid_items)
    if folds < 2:
        raise ConvzooError(f"--folds must be at least 2, not {folds}")
    check_options(baseline, opts, grid)
    bundle = load_data(data, data_dir, train_size, seed)
    x, y = arrays(bundle.train, features)
    cells, best, estimator = select(baseline, opts, grid, x, y, folds, seed)
    xt, yt = arrays(bundle.test, features)  # first touched here, after the choice is made
    with sklearn_call(name, len(y)):
        evaluation, _ = evaluation_of(estimator, xt, yt, len(bundle.test.classes))
    return SearchResult(name, data, features, folds, len(y), cells, best, evaluation.accuracy, len(yt))
