"""`convzoo compare --data D [--quick]`: the lectures' error-rate table, every row measured here
(src/convzoo/baselines/compare.py)."""

from __future__ import annotations

import argparse

from . import argtypes
from .output import Result


def register(sub) -> None:
    from ..baselines.compare_rows import ROWS

    p = sub.add_parser(
        "compare", help="the lectures' MNIST error table re-measured, every row by its own method",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train every row of the lectures' MNIST table on the same data here, in the table's order, each "
                    "by the method it names: pairwise linear on deskewed digits, 1-NN with the image distortion "
                    "model, AdaBoost stumps on Haar features, 40 PCA + quadratic, the virtual SVM (degree 9, "
                    "jittered support vectors, deskewed), the MLPs with and without elastic distortions, LeNet-5, "
                    "the two 6-layer CNNs on an expanded training set, and the two committees; then the modern "
                    "LeNet. Prints method, distortion, preprocessing, published and measured error (mean ± sd "
                    "over seeds), parameters, training and inference time. Writes OUT/compare.md, compare.json, "
                    "compare.png (error against training time, log axes) and distortions.png. An interrupted "
                    "comparison resumes with the rows it lacks.\n"
                    "--quick: a subset of the rows on 5,000 training digits, 3 epochs, one seed, 3 committee "
                    "members. Full on mnist-sample: about 30 minutes on a quiet 2-core machine (estimated).",
        epilog="rows: " + ", ".join(r.key for r in ROWS) + ", recipe (with --recipe)")
    p.add_argument("--data", default="mnist-sample", help="a 28x28 grey dataset (default mnist-sample, the real "
                                                          "digits; the published figures are MNIST's)")
    p.add_argument("--data-dir", metavar="DIR", help="where the dataset's files are (else the usual search)")
    p.add_argument("--test-holdout", type=float, metavar="N",
                   help="hold out N training examples (or a fraction) as the test set")
    p.add_argument("--quick", action="store_true", help="the small setting (a few minutes)")
    p.add_argument("--recipe", help="add a row trained by this convzoo recipe")
    p.add_argument("--train-size", type=argtypes.positive, metavar="N", help="a class-balanced training subset")
    p.add_argument("--epochs", type=argtypes.positive, metavar="N", help="every network's epochs (default: each row's own)")
    p.add_argument("--rows", metavar="ROW,ROW", help="only these rows (comma-separated)")
    p.add_argument("--seed", type=argtypes.non_negative, default=0, help="subset and training seed (default 0)")
    p.add_argument("--threads", type=argtypes.threads, metavar="N", help="CPU threads (default: torch's)")
    p.add_argument("--out", metavar="DIR", help="output folder (default runs/compare-DATA[-quick])")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run_compare)


def run_compare(args) -> Result:
    from ..baselines.compare import compare
    from ..baselines.compare_table import markdown, row_note
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
    # Each row's note (a miss explained, the test set's noise) is text the table derives: the JSON holds it too.
    data = {**result.to_dict(), "row_notes": [row_note(r) for r in result.rows]}
    return Result(data, [markdown(result).rstrip("\n"), f"written: {', '.join(result.files)}"], indent=2)
