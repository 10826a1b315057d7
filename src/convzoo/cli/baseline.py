"""`convzoo baseline NAME`, `convzoo baseline cv NAME`: the classical baselines
(src/convzoo/baselines); `convzoo eval` and `convzoo predict` show a baseline's directory themselves."""

from __future__ import annotations

import argparse

from ..tables import Grid
from . import argtypes
from .output import Result


def register(sub) -> None:
    from ..baselines import BASELINES, FEATURES

    names = ", ".join(BASELINES)
    p = sub.add_parser(
        "baseline", help="classical baselines (linear, k-NN, SVM, PCA+quadratic, boosted stumps) and grid search by CV",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="convzoo baseline NAME --data D: fit a scikit-learn baseline, evaluate it on the test set and "
                    "save a run directory (baseline.json, model.json + model.npz without pickle, eval.json) that "
                    "`convzoo eval` and `convzoo predict` accept.\n"
                    "convzoo baseline cv NAME --grid KEY=V1,V2 [--folds K]: grid search by stratified K-fold "
                    "cross-validation on the training set only; the chosen cell is tested once.\n"
                    "The lectures' error table, networks beside these: `convzoo compare`.\n"
                    f"baselines: {names}")
    _add_flags(p, names, FEATURES)
    p.set_defaults(func=run_baseline)


def _add_flags(p, names: str, features) -> None:
    p.add_argument("name", metavar="NAME", help=f"a baseline ({names}), or `cv`")
    p.add_argument("target", nargs="?", metavar="BASELINE", help="after `cv`: the baseline to tune")
    p.add_argument("--data", help="dataset (default mnist-sample)")
    p.add_argument("--data-dir", metavar="DIR", help="where the dataset's files are (else the usual search)")
    p.add_argument("--test-holdout", type=float, metavar="N",
                   help="hold out N training examples (or a fraction) as the test set")
    p.add_argument("--train-size", type=argtypes.positive, metavar="N",
                   help="fit on a class-balanced subset of N training examples")
    p.add_argument("--features", choices=features, default="raw",
                   help="raw pixels in [0, 1], deskew (second moments, LeCun's table), or hog")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="a baseline option, repeatable (e.g. --option k=5, --option degree=9)")
    p.add_argument("--seed", type=int, default=0, help="subset, holdout and fold seed (default 0)")
    p.add_argument("--out", metavar="DIR", help="run directory (default runs/baseline-NAME-DATA-FEATURES)")
    p.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2,...", help="cv: an option's values")
    p.add_argument("--folds", type=int, default=5, metavar="K", help="cv: folds (default 5)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def run_baseline(args) -> Result:
    from .. import baselines
    from ..errors import ConvzooError

    options = baselines.parse_key_values(args.option)
    if args.name == "cv":
        if not args.target:
            raise ConvzooError(f"baseline cv needs a baseline to tune: one of {', '.join(baselines.BASELINES)}")
        result = baselines.cross_validate(args.target, args.data or "mnist-sample", args.grid, folds=args.folds,
                                          data_dir=args.data_dir, train_size=args.train_size,
                                          features=args.features, options=options, seed=args.seed)
        return _search(result)
    if args.target:
        raise ConvzooError(f"unexpected {args.target!r} after the baseline name (only `cv` takes a second name)")
    baselines.get_baseline(args.name)  # an unknown name fails before the data loads
    data = args.data or "mnist-sample"
    out = args.out or f"runs/baseline-{args.name}-{data}-{args.features}"
    result = baselines.fit_baseline(args.name, data, data_dir=args.data_dir, train_size=args.train_size,
                                    features=args.features, options=options, seed=args.seed, out=out,
                                    test_holdout=args.test_holdout)
    return _fit(result)


def _fit(result) -> Result:
    e = result.evaluation
    loss = "-" if e.loss is None else f"{e.loss:.4f}"
    return Result(result.to_dict(), [
        (f"{result.name} ({result.features}, {_opts(result.options)}) on {result.data}: test accuracy "
         f"{e.accuracy:.4f}, error {result.error_percent:.2f} %, loss {loss} "
         f"({result.train:,} train / {result.test:,} test; fit {result.fit_seconds:.1f} s)"),
        *(f"note: {note}" for note in result.notes),
        f"saved in {result.run_dir} (eval.json; model.json + model.npz, no pickle)"], indent=2)


def _opts(options: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in options.items())


def _search(result) -> Result:
    rows = [(_opts(cell["options"]), f"{cell['mean']:.4f} ± {cell['sd']:.4f}", "<- chosen" if cell is result.best else "")
            for cell in result.cells]
    return Result(result.to_dict(), [
        (f"{result.baseline} on {result.data} ({result.features}): {result.folds}-fold stratified CV on "
         f"{result.train:,} training examples"),
        Grid(("options", "CV accuracy", ""), rows),
        (f"chosen {_opts(result.best['options'])}: test accuracy {result.test_accuracy:.4f} "
         f"({result.test:,} test examples, used once, after the choice)")], indent=2)
