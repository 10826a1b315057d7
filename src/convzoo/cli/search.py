"""`convzoo search MODEL --grid KEY=V1,V2 [--grid ...] [--folds K] [--random N]`: model selection by
stratified K-fold cross-validation on the training set (src/convzoo/selection)."""

from __future__ import annotations

import argparse

from ..tables import Grid
from . import argtypes
from .output import Result
from .train import add_config_flags

# Flags of `convzoo train` that the search reads itself rather than fixing for every cell.
_OWN = ("data", "data_dir", "train_size", "test_holdout", "seed", "out", "threads")


def register(sub) -> None:
    p = sub.add_parser(
        "search", help="grid search over training flags and model options by stratified K-fold CV",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Grid search the 2012 way: every cell of the grid is trained K times (stratified K-fold "
                    "cross-validation on the training set only) and scored by mean ± sd validation accuracy; the "
                    "best cell is retrained on the whole training set and evaluated once on the test set. Each "
                    "training is a normal run directory under OUT/runs, so an interrupted search resumes. Writes "
                    "OUT/results.md, results.json and, for a 2-D grid, heatmap.png.",
        epilog=EPILOG)
    _add_flags(p)


EPILOG = ("keys: any training flag that does not choose the data or where runs go (lr, batch_size, "
          "weight_decay, epochs, augment, optimizer, momentum, schedule, label_smoothing, ...) and the "
          "model's options (`convzoo models MODEL`). A value that holds commas takes | between values: "
          "--grid 'hidden=120,84|300,100'. Other training flags given here are fixed for every cell.\n"
          "example: convzoo search lenet_modern --grid lr=0.05,0.2 --grid batch_size=64,256 --folds 3 "
          "--train-size 3000 --epochs 1")


def _add_flags(p) -> None:
    p.add_argument("model", metavar="MODEL", help="a registered model (see `convzoo models`) or your FILE.py:Class")
    p.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2,...",
                   help="a key and its values, repeatable (one axis each)")
    p.add_argument("--folds", type=argtypes.integer(2, 100), default=3, metavar="K",
                   help="stratified folds of the training set (default 3; at most the smallest class's count)")
    p.add_argument("--random", type=argtypes.positive, metavar="N",
                   help="train N cells drawn at random (without replacement) instead of every cell")
    p.add_argument("--model-arg", action="append", default=[], metavar="KEY=VALUE",
                   help="a model option fixed for every cell, repeatable")
    p.add_argument("--jobs", type=argtypes.integer(1, 64), default=1, metavar="N",
                   help="train in N processes at once, sharing the cores")
    p.add_argument("--shard", metavar="I/N", help="train only every N-th run from I (processes or machines sharing "
                                                "OUT); a run without --shard finishes the search")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    add_config_flags(p)
    p.set_defaults(func=run_search)


def run_search(args) -> Result:
    from ..errors import ConvzooError
    from ..selection import search
    from ..selection.grid import searchable_settings
    from ..studies import parse_shard
    from ..train.config import flag_name

    given = {k: getattr(args, k) for k in searchable_settings() if getattr(args, k, None) is not None}
    for key in ("val_split", "device", "dist_timeout", "deterministic", "progress"):
        if getattr(args, key, None) is not None and key not in given:
            raise ConvzooError(f"{flag_name(key)} is not used by search (the folds are its validation sets)")
    try:
        result = search(args.model, args.grid, folds=args.folds, sample=args.random,
                        data=args.data or "fashion-mnist", data_dir=args.data_dir, train_size=args.train_size,
                        test_holdout=args.test_holdout, settings=given, model_args=args.model_arg,
                        seed=args.seed or 0, out=args.out, threads=args.threads or 0, jobs=args.jobs,
                        shard=parse_shard(args.shard))
    except KeyboardInterrupt:
        raise ConvzooError("interrupted; the same command resumes the search (finished runs and each run's last "
                           "finished epoch are kept)") from None
    if not result.complete:
        return Result(result.to_dict(), [(f"this shard's runs are done; run the command without --shard to finish "
                                         f"the search in {result.out}")], indent=2)
    return Result(result.to_dict(), _text(result), indent=2)


def _text(result) -> list:
    rows = [(cell["label"], f"{cell['mean']:.4f} ± {cell['sd']:.4f}",
             " ".join("-" if f is None else f"{f:.4f}" for f in cell["folds"]),
             "<- chosen" if cell is result.best else "") for cell in result.cells]
    return [f"{result.model} on {result.data}: {result.folds}-fold stratified CV on {result.train:,} training examples",
            Grid(("cell", "CV accuracy", "folds", ""), rows),
            *(f"note: {note}" for note in result.notes),
            (f"chosen {result.best['label']}: test accuracy {result.test_accuracy:.4f} on {result.test:,} test "
             f"examples (used once, after the choice; run {result.test_run})"),
            f"written: {', '.join(result.files)}; {result.seconds:.0f} s"]
