"""Fit, evaluate, save, load and use a classical baseline (grid search by CV: crossval.py).

A baseline run directory holds baseline.json (what was fitted, on what data, with which features),
model.json + model.npz (the fitted estimator, see store.py) and eval.json (the format of
`convzoo eval --json`: data, precision, task, loss, accuracy, per_class_accuracy, confusion).
"""

from __future__ import annotations

import json
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..atomic import claim_folder, write_json
from ..errors import ConvzooError
from .failures import check_options, sklearn_call
from .features import FEATURES, extract
from .store import BadModelFile, load_model, save_model
from .table import get_baseline, resolve_options

MARKER = "baseline.json"
BASELINE_FORMAT = "convzoo-baseline/1"


def _describe(held: dict) -> str:
    return f"the baseline {held.get('baseline', '?')} (another baseline)"


def is_baseline_dir(path) -> bool:
    return Path(path).is_dir() and (Path(path) / MARKER).is_file()


def load_data(data: str, data_dir=None, train_size: int | None = None, seed: int = 0, test_holdout=None):
    from ..data import load_dataset
    from ..data.sampling import with_train_size

    bundle = load_dataset(data, data_dir, test_holdout=test_holdout, seed=seed)
    if bundle.train.task != "classification" or bundle.train.shape[0] != 1:
        raise ConvzooError(f"the baselines classify grey images; {data} is not such a dataset")
    return with_train_size(bundle, train_size, seed)


def arrays(dataset, features: str) -> tuple[np.ndarray, np.ndarray]:
    return extract(dataset.images.numpy(), features), dataset.labels.numpy()


def evaluation_of(estimator, x: np.ndarray, y: np.ndarray, classes: int):
    """convzoo's Evaluation (the one `convzoo eval` prints) for `estimator` on (x, y). The loss is the
    mean cross-entropy of predict_proba where the estimator has one, else None (an SVM's scores are
    not probabilities)."""
    from ..train.metrics import Evaluation

    predicted = estimator.predict(x)
    confusion = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(confusion, (y, predicted), 1)
    loss = None
    if hasattr(estimator, "predict_proba"):
        p = np.zeros((len(x), classes))
        p[:, estimator.classes_] = estimator.predict_proba(x)
        loss = float(-np.log(np.clip(p[np.arange(len(y)), y], 1e-15, 1)).mean())
    accuracy = float(np.trace(confusion) / max(len(y), 1))
    return Evaluation(loss, accuracy, torch.from_numpy(confusion), "classification"), predicted


def eval_dict(name: str, evaluation, classes) -> dict:
    return {"data": name, "precision": "fp64", **evaluation.to_dict(list(classes)),
            "count": int(evaluation.confusion.sum())}  # test examples, as `convzoo eval` says them


def settle_options(options: dict, x: np.ndarray) -> tuple[dict, str]:
    """Options that depend on the training data, decided: the SVM's `approx=auto` (exact libsvm up to
    EXACT_SVM_LIMIT examples, else Nystroem) and, for Nystroem, gamma="scale" as SVC computes it
    (1 / (features x variance)). Returns the options and a note saying what was chosen ("" if none)."""
    from .table import EXACT_SVM_LIMIT

    if options.get("approx") is None:
        return options, ""
    options = dict(options)
    if options["approx"] == "auto":
        options["approx"] = "exact" if len(x) <= EXACT_SVM_LIMIT else "nystroem"
    if options["approx"] != "nystroem":
        return options, ""
    if options["gamma"] in ("scale", "auto"):
        variance = float(x.var()) if options["gamma"] == "scale" else 1.0
        options["gamma"] = 1.0 / (x.shape[1] * (variance or 1.0))
    return options, (f"SVM approximated: Nystroem features from {options['components']:,} training examples, "
                     f"then a linear SVM (an exact kernel SVM on {len(x):,} examples does not fit ~10 minutes "
                     f"on 2 cores; approx=exact forces it)")


@dataclass
class BaselineResult:
    name: str
    data: str
    features: str
    options: dict
    train: int
    test: int
    evaluation: object
    classes: list
    fit_seconds: float
    predict_seconds: float
    run_dir: str | None = None
    notes: list = field(default_factory=list)

    @property
    def error_percent(self) -> float:
        return 100.0 * (1.0 - self.evaluation.accuracy)

    def to_dict(self) -> dict:
        return {"baseline": self.name, "data": self.data, "features": self.features, "options": self.options,
                "train": self.train, "test": self.test, "test_error_percent": round(self.error_percent, 3),
                "fit_seconds": round(self.fit_seconds, 3), "predict_seconds": round(self.predict_seconds, 3),
                "run_dir": self.run_dir, "notes": self.notes,
                "eval": eval_dict(self.data, self.evaluation, self.classes)}


def fit_baseline(name: str, data: str, *, data_dir=None, train_size: int | None = None, features: str = "raw",
                 options: dict | None = None, seed: int = 0, out: str | Path | None = None,
                 test_holdout=None) -> BaselineResult:
    """Fit baseline `name` on `data`'s training set (a balanced subset of `train_size`), evaluate it on
    the test set and, with `out`, write the run directory."""
    baseline = get_baseline(name)
    opts = resolve_options(baseline, options or {})
    if features not in FEATURES:
        from ..errors import unknown_name

        raise unknown_name("feature", features, list(FEATURES))
    check_options(baseline, opts)
    if out is not None:  # before the data loads: a folder of another job is refused at once
        claim_folder(out, MARKER, {"format": BASELINE_FORMAT, "baseline": name}, _describe, record=False)
    bundle = load_data(data, data_dir, train_size, seed, test_holdout)
    x, y = arrays(bundle.train, features)
    opts, how = settle_options(opts, x)
    if how:
        bundle.notes.append(how)
    estimator = baseline.factory(opts)
    start = time.perf_counter()
    with sklearn_call(name, len(y)):
        estimator.fit(x, y)
    fit_seconds = time.perf_counter() - start
    xt, yt = arrays(bundle.test, features)
    start = time.perf_counter()
    with sklearn_call(name, len(y)):
        evaluation, _ = evaluation_of(estimator, xt, yt, len(bundle.test.classes))
    predict_seconds = time.perf_counter() - start
    result = BaselineResult(name, data, features, opts, len(y), len(yt), evaluation, list(bundle.test.classes),
                            fit_seconds, predict_seconds, notes=list(bundle.notes))
    if out is not None:
        run_dir = Path(out)
        save_model(estimator, run_dir)
        write_json(run_dir / "eval.json", eval_dict(data, evaluation, bundle.test.classes))
        write_json(run_dir / MARKER, {
            "format": BASELINE_FORMAT, "baseline": name, "features": features, "options": opts,
            "data": {"name": data, "data_dir": None if data_dir is None else str(data_dir), "seed": seed,
                     "train_size": train_size, "test_holdout": test_holdout, "classes": list(bundle.test.classes),
                     "shape": list(bundle.test.shape), "train": len(y), "test": len(yt), "notes": bundle.notes},
            "fit_seconds": fit_seconds})
        result.run_dir = str(run_dir)
    return result


@dataclass
class SavedBaseline:
    """A baseline run directory, loaded: its description and its estimator."""

    path: Path
    meta: dict
    estimator: object

    @property
    def classes(self) -> list[str]:
        return list(self.meta["data"]["classes"])

    @property
    def features(self) -> str:
        return self.meta["features"]


def load_baseline(path) -> SavedBaseline:
    path = Path(path)
    try:
        meta = json.loads((path / MARKER).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadModelFile(f"{path / MARKER}: not readable ({type(exc).__name__})") from None
    if not isinstance(meta, dict) or meta.get("format") != BASELINE_FORMAT:
        raise BadModelFile(f"{path / MARKER}: not a {BASELINE_FORMAT} file")
    try:
        d = meta["data"]
        channels, height, width = (int(v) for v in d["shape"])
        classes = [str(c) for c in d["classes"]]
        if channels != 1 or not (1 <= height <= 1024 and 1 <= width <= 1024) or meta["features"] not in FEATURES:
            raise ValueError
        n_features = extract(np.zeros((1, height, width), np.uint8), meta["features"]).shape[1]
    except (KeyError, TypeError, ValueError):
        raise BadModelFile(f"{path / MARKER}: its data, shape, classes or features are not a baseline's") from None
    estimator = load_model(path, n_features)
    if int(estimator.classes_[-1]) >= len(classes):
        raise BadModelFile(f"{path}: the model answers classes that {MARKER} does not name")
    return SavedBaseline(path, meta, estimator)


def evaluate_saved(path, data: str | None = None, data_dir=None, *, force: bool = False) -> dict:
    """`convzoo eval` on a baseline directory: its own test set (same data, holdout and seed), or
    dataset `data`'s of the same shape; the JSON is `convzoo eval --json`'s."""
    saved = load_baseline(path)
    d = saved.meta["data"]
    same = data in (None, d["name"])
    name = d["name"] if same else data
    from ..data import load_dataset

    bundle = load_dataset(name, (data_dir or d.get("data_dir")) if same else data_dir,
                          test_holdout=d.get("test_holdout") if same else None, seed=d.get("seed", 0))
    test = bundle.test
    if list(test.shape) != list(d["shape"]) or len(test.classes) != len(d["classes"]):
        raise ConvzooError(f"{name} does not fit this baseline (fitted on {d['name']})")
    if list(test.classes) != list(d["classes"]) and not force:
        raise ConvzooError(f"{name}'s classes are not this baseline's (from {d['name']}): its answers would be "
                           "scored against other classes; --force evaluates anyway")
    x, y = arrays(test, saved.features)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        evaluation, _ = evaluation_of(saved.estimator, x, y, len(test.classes))
    return {"evaluation": evaluation, "classes": list(test.classes), "count": len(y),
            "json": eval_dict(name, evaluation, test.classes)}


def predict_saved(path, images, top_k: int = 3) -> list[dict]:
    """`convzoo predict` on a baseline directory: each image prepared exactly as for a CNN trained on
    the same data (convzoo.data.preprocess's style for MNIST and Fashion-MNIST), then classified.
    Results as the CNN predictor's: {"image", "top": [{"class", "index", "probability"}]} or
    {"image", "error"}; a model without probabilities (an SVM) ranks by its decision score."""
    from ..data.preprocess import Prepared, style_for
    from ..infer import prepare_files, to_uint8_input

    saved = load_baseline(path)
    d = saved.meta["data"]
    channels, height, width = d["shape"]
    style = style_for(d["name"]) if (height, width) == (28, 28) else None
    def prepare(img):
        if style is not None:
            return style(img)
        arr = to_uint8_input(img, channels, (height, width))
        return Prepared(arr[0], inverted=False, empty=bool(arr.min() == arr.max()))

    results, ready = prepare_files(images, prepare)
    if ready:
        x = extract(np.stack([im for _, im in ready]), saved.features)
        est, classes = saved.estimator, saved.classes
        if hasattr(est, "predict_proba"):
            scores, key = np.zeros((len(x), len(classes))), "probability"
            scores[:, est.classes_] = est.predict_proba(x)
        else:
            scores, key = np.full((len(x), len(classes)), -np.inf), "score"
            scores[:, est.classes_] = est.decision_function(x)
        predicted = est.predict(x)
        for (result, _), row, answer in zip(ready, scores, predicted):
            order = [int(answer)] + [int(i) for i in np.argsort(-row, kind="stable") if i != answer]
            result["top"] = [{"class": classes[i], "index": i, key: float(row[i])} for i in order[:top_k]]
    return results
