"""`convzoo compare --data D [--quick]`: the lectures' error-rate table, every row measured here
(src/convzoo/baselines/compare.py)."""

from __future__ import annotations

import argparse
import json

from . import argtypes


def register(sub) -> None:
    from ..baselines.compare import ROWS

    p = sub.add_parser(
        "compare", help="the lectures' error table re-measured: classical baselines beside MLP, LeNets and a recipe",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train every row of the lectures' MNIST table on the same data here (linear, k-NN, PCA + "
                    "quadratic, SVM, MLP 784-800-10, LeNet-5 1998, modern LeNet, convzoo's best recipe) and print "
                    "test error, parameters, training time, inference time per 1,000 images and the published "
                    "figure. Writes OUT/compare.md, compare.json and compare.png (error against training time, log "
                    "axes). An interrupted comparison resumes with the rows it lacks.\n"
                    "--quick: 10,000 training / 1,000 test images, networks 6 epochs, recipe `accurate` cut to 6 epochs (under 3 "
                    "minutes on 2 cores). Full: the whole training and test sets, networks 10 epochs, recipe `best` "
                    "(about 30 minutes on Fashion-MNIST; the SVM uses the Nystroem approximation above 20,000).",
        epilog="rows: " + ", ".join(r.key for r in ROWS))
    p.add_argument("--data", default="fashion-mnist", help="a 28x28 grey dataset (default fashion-mnist; mnist-sample "
                                                           "for the real digits)")
    p.add_argument("--data-dir", metavar="DIR", help="where the dataset's files are (else the usual search)")
    p.add_argument("--test-holdout", type=float, metavar="N",
                   help="hold out N training examples (or a fraction) as the test set")
    p.add_argument("--quick", action="store_true", help="the small setting (a few minutes)")
    p.add_argument("--recipe", help="the recipe row's recipe (default: best; accurate with --quick)")
    p.add_argument("--train-size", type=argtypes.positive, metavar="N", help="a class-balanced training subset")
    p.add_argument("--epochs", type=argtypes.positive, metavar="N", help="every network's epochs, the recipe's too")
    p.add_argument("--rows", metavar="ROW,ROW", help="only these rows (comma-separated)")
    p.add_argument("--seed", type=argtypes.non_negative, default=0, help="subset and training seed (default 0)")
    p.add_argument("--threads", type=argtypes.threads, metavar="N", help="CPU threads (default: torch's)")
    p.add_argument("--out", metavar="DIR", help="output folder (default runs/compare-DATA[-quick])")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run_compare)


def run_compare(args) -> int:
    from ..baselines.compare import compare
    from ..baselines.compare_table import markdown
    from ..errors import ConvzooError

    only = [r.strip() for r in args.rows.split(",") if r.strip()] if args.rows else None
    if args.rows is not None and not only:
        raise ConvzooError("--rows is empty: name at least one row")
    try:
        result = compare(args.data, data_dir=args.data_dir, quick=args.quick, recipe=args.recipe,
                         train_size=args.train_size, epochs=args.epochs, test_holdout=args.test_holdout, seed=args.seed,
                         threads=args.threads or 0, out=args.out, only=only)
    except KeyboardInterrupt:
        raise ConvzooError("interrupted; the same command resumes with the rows it lacks") from None
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return 0
    print(markdown(result), end="")
    print(f"written: {', '.join(result.files)}")
    return 0
