"""`convzoo compare`: the lectures' MNIST error table re-measured on this machine, classical methods
and networks side by side on the same training and test images.

Every row is trained here: the classical ones by scikit-learn (run.py), the networks by the
engine. Columns: test error, parameters (for a classical model, the numbers it stores: k-NN keeps
its training set, an SVM its support vectors), training time (fit; for a network the training
steps only, from the engine's examples/s, without its per-epoch evaluation), inference time per
1,000 test images, and the published figure of the same method where one exists, with its source.

Each finished row is kept (OUT/rows/<row>.json, the run directories under OUT/runs), so an
interrupted comparison resumes with the rows it lacks.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..atomic import claim_folder, write_json
from ..errors import ConvzooError
from .compare_table import write_outputs


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    kind: str  # "baseline" | "network" | "recipe"
    name: str  # a baseline, a registered model or a recipe
    published: dict = field(default_factory=dict)  # "mnist" | "fashion" -> (figure's source, error %)
    training: dict = field(default_factory=dict)  # a network's TrainConfig values beside the defaults, and why



LECUN = "LeCun et al. 1998 (MNIST, 60k/10k)"
ROWS = [
    Row("linear", "linear classifier (logistic regression)", "baseline", "linear",
        {"mnist": (f"linear classifier, 1-layer NN: {LECUN}", 12.0)}),
    Row("knn", "k-NN, Euclidean (k=3)", "baseline", "knn", {"mnist": (f"K-NN Euclidean L2: {LECUN}", 5.0)}),
    Row("pca-quadratic", "40 PCA + quadratic classifier", "baseline", "pca-quadratic",
        {"mnist": (f"40 PCA + quadratic classifier: {LECUN}", 3.3)}),
    Row("svm-rbf", "SVM, Gaussian kernel", "baseline", "svm-rbf",
        {"mnist": (f"SVM Gaussian kernel: {LECUN}", 1.4)}),
    Row("mlp", "MLP 784-800-10", "network", "mlp_784_800_10",
        {"mnist": ("2-layer NN, 800 HU, cross-entropy: Simard et al. 2003", 1.6),
         "fashion": ("MLP 256-128-64: Zalando's Fashion-MNIST benchmark table (submitted)", 10.0)}),
    # Trained as its paper trained it (input scaling, MAP loss, SDLM, 20 passes): docs/baselines.md.
    Row("lenet-1998", "LeNet-5 (1998), as its paper trained it", "recipe", "lenet5-paper",
        {"mnist": (f"LeNet-5: {LECUN}", 0.95)}),
    Row("lenet-modern", "LeNet (modern: ReLU, max-pool, BN)", "network", "lenet_modern"),
    Row("recipe", "convzoo recipe", "recipe", ""),
]

# Quick (<= 3 minutes on 2 cores): 10,000 training images (at 5,000 the modern LeNet and the SVM were
# within 0.5 points), every network 6 epochs, the recipe row `accurate` cut to those 6 epochs (`fast`'s
# 3 epochs are too few steps on a sixth of the data).
QUICK = {"train_size": 10_000, "test_size": 1000, "epochs": 6, "recipe": "accurate", "recipe_epochs": 6}
FULL = {"train_size": None, "test_size": None, "epochs": 10, "recipe": "best", "recipe_epochs": None}


@dataclass
class Comparison:
    data: str
    quick: bool
    setting: str
    rows: list[dict]
    out: str
    files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"data": self.data, "quick": self.quick, "setting": self.setting, "rows": self.rows, "out": self.out,
                "files": self.files, "notes": self.notes}


def compare(data: str = "fashion-mnist", *, data_dir=None, quick: bool = False, recipe: str | None = None,
            train_size: int | None = None, epochs: int | None = None, test_holdout=None, seed: int = 0,
            threads: int = 0, out=None, only: list[str] | None = None, log=None) -> Comparison:
    """Fit or train every row on `data` (or the rows named in `only`) and write the table and plot."""
    from ..data import dataset_spec
    from ..train.recipes import RECIPES

    log = log or _stderr
    setting = dict(QUICK if quick else FULL)
    if recipe is not None:
        if recipe not in RECIPES:
            from ..errors import unknown_name

            raise unknown_name("recipe", recipe, list(RECIPES))
        setting["recipe"] = recipe
    if train_size is not None:
        setting["train_size"] = train_size
    if epochs is not None:  # every network, the recipe row included
        if epochs < 1:
            raise ConvzooError(f"--epochs must be at least 1, not {epochs}")
        setting["epochs"] = setting["recipe_epochs"] = epochs
    spec = dataset_spec(data)
    if spec.task != "classification":
        raise ConvzooError(f"compare needs a grey 28x28 classification dataset; {data} is {spec.task}")
    rows = ROWS if not only else [_row(k) for k in only]
    out = Path(out) if out else Path("runs") / f"compare-{data}{'-quick' if quick else ''}"
    # A bad --out fails before the data loads.
    _claim(out, {"data": data, "quick": quick, "setting": setting, "seed": seed, "test_holdout": test_holdout})
    bundle = _load(data, data_dir, setting, test_holdout, seed)
    if tuple(bundle.train.shape) != (1, 28, 28):
        raise ConvzooError(f"compare needs 28x28 grey images (the lectures' table); {data} has "
                           f"{'x'.join(map(str, bundle.train.shape))}")
    family = "mnist" if data.startswith("mnist") else "fashion" if data.startswith("fashion") else ""
    measured = []
    for index, row in enumerate(rows, 1):
        tag = f"[{index}/{len(rows)}] {row.label}"
        path = out / "rows" / f"{row.key}.json"
        if path.is_file():
            log(f"{tag}: done, read back")
            result = json.loads(path.read_text())
        else:
            if row.kind == "baseline":
                log(f"{tag}: fitting")
            try:
                result = (_baseline_row(row, bundle, out, seed) if row.kind == "baseline"
                          else _network_row(row, bundle, setting, out, seed, threads, tag, log))
                write_json(path, result)
            except ConvzooError as exc:  # kept out of rows/: the same command tries it again
                log(f"{tag}: failed: {exc}")
                result = {"error_percent": None, "params": None, "train_seconds": None, "infer_ms_per_1k": None,
                          "note": f"failed: {exc}"}
        text, error = row.published.get(family, ("", None))
        label = row.label + (f" `{row.name or setting['recipe']}`" if row.kind == "recipe" else "")
        measured.append({"row": row.key, "method": label, **result,
                         "published": text or None, "published_error_percent": error})
    where = (f"{data}: {len(bundle.train):,} training / {len(bundle.test):,} test images"
             f"{' (quick)' if quick else ''}; networks {setting['epochs']} epochs, the recipe row `{setting['recipe']}`")
    result = Comparison(data, quick, where, measured, str(out), notes=list(bundle.notes))
    result.files = write_outputs(result, out)
    return result


def _row(key: str) -> Row:
    for row in ROWS:
        if row.key == key:
            return row
    from ..errors import unknown_name

    raise unknown_name("compare row", key, [r.key for r in ROWS])


def _load(data, data_dir, setting, test_holdout, seed):
    from ..data import load_dataset
    from ..data.sampling import balanced_subset, with_train_size

    bundle = load_dataset(data, data_dir, test_holdout=test_holdout, seed=seed)
    wanted = setting["train_size"]  # quick's 10,000 on a smaller dataset: all of it
    bundle = with_train_size(bundle, wanted if wanted and wanted < len(bundle.train) else None, seed)
    size = setting["test_size"]
    if size and size < len(bundle.test):
        full = len(bundle.test)
        bundle.test = balanced_subset(bundle.test, size, 0)
        bundle.notes.append(f"test set: a class-balanced subset of {size:,} of the {full:,} test images (seed 0)")
    return bundle


# ---- rows ----------------------------------------------------------------------------------------

def _baseline_row(row: Row, bundle, out: Path, seed: int) -> dict:
    import warnings

    import numpy as np

    from .run import arrays, evaluation_of, settle_options
    from .store import stored_numbers
    from .table import get_baseline, resolve_options

    baseline = get_baseline(row.name)
    x, y = arrays(bundle.train, "raw")
    options, note = settle_options(resolve_options(baseline, {}), x)
    estimator = baseline.factory(options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        started = time.perf_counter()
        try:
            estimator.fit(x, y)
        except np.linalg.LinAlgError as exc:  # QDA on too few examples per class for its components
            raise ConvzooError(f"{row.name} cannot be fitted on these {len(y):,} examples "
                               f"({str(exc).split('. ')[0]})") from None
        fit_seconds = time.perf_counter() - started
        xt, yt = arrays(bundle.test, "raw")
        started = time.perf_counter()
        evaluation, _ = evaluation_of(estimator, xt, yt, len(bundle.test.classes))
        predict_seconds = time.perf_counter() - started
    return {"error_percent": 100 * (1 - evaluation.accuracy), "params": stored_numbers(estimator),
            "train_seconds": fit_seconds, "infer_ms_per_1k": 1000 * predict_seconds * 1000 / len(yt),
            "options": {k: v for k, v in options.items()}, "note": note}


def _network_row(row: Row, bundle, setting: dict, out: Path, seed: int, threads: int, tag: str, log) -> dict:
    from ..models.registry import count_parameters
    from ..selection.crossval import train_or_read
    from ..train import TrainConfig, model_from_checkpoint
    from ..train.recipes import RECIPES

    run_dir = out / "runs" / row.key
    common = {"data": bundle.name, "seed": seed, "threads": threads, "progress": False, "out": str(run_dir)}
    if row.kind == "recipe":
        recipe = RECIPES[row.name or setting["recipe"]]  # a row's own recipe, else the chosen one
        epochs = {"epochs": setting["recipe_epochs"]} if setting["recipe_epochs"] else {}
        config = recipe.config(**common, **epochs)
        label = f"recipe {recipe.name}: {config.model}, {config.epochs} epochs"
    else:
        config = TrainConfig(model=row.name, epochs=setting["epochs"], **{**common, **row.training})
        label = f"{config.epochs} epochs, {config.optimizer} lr {config.lr}, batch {config.batch_size}"
    accuracy, status = train_or_read(config, bundle, tag, 0, log)
    model, payload = model_from_checkpoint(run_dir)
    history = payload["history"]
    train_seconds = sum(len(bundle.train) / r["examples_per_sec"] for r in history if r.get("examples_per_sec"))
    return {"error_percent": 100 * (1 - accuracy), "params": count_parameters(model), "train_seconds": train_seconds,
            "infer_ms_per_1k": _inference_ms_per_1k(model, bundle.test, threads), "model": config.model,
            "options": {"training": label}, "note": "diverged: scored at chance" if status == "diverged" else "",
            "run_dir": str(run_dir)}


def _inference_ms_per_1k(model, test, threads: int) -> float:
    """Milliseconds to classify 1,000 test images in batches of 1,000 (fp32, no autograd; the
    median of 3 passes over the test set after one warm-up batch)."""
    import statistics

    import torch

    if threads:
        torch.set_num_threads(threads)
    model.eval()
    mean = torch.tensor(test.mean).view(1, -1, 1, 1)
    std = torch.tensor(test.std).view(1, -1, 1, 1)
    x = (test.images.float() / 255 - mean) / std
    passes = []
    with torch.inference_mode():
        model(x[:1000])
        for _ in range(3):
            started = time.perf_counter()
            for i in range(0, len(x), 1000):
                model(x[i:i + 1000])
            passes.append(time.perf_counter() - started)
    return 1000 * statistics.median(passes) * 1000 / len(x)


# ---- outputs ---------------------------------------------------------------------------------------

def _claim(out: Path, state: dict) -> None:
    claim_folder(out, "compare-state.json", state, lambda h: "a comparison with other settings")


def _stderr(message: str) -> None:
    import sys

    print(message, file=sys.stderr, flush=True)
