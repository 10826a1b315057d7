"""`convzoo zoo [list]`: the zoo table (every family on Fashion-MNIST, from its model card); `zoo train
ROW` trains a row by its recipe and publishes it; `zoo estimate [ROW...]` budgets rows; `zoo plot
[PNG]` draws accuracy against cost; `zoo fetch NAME` downloads a large model's weights. The flags
`--train`, `--estimate`, `--plot` and `--fetch` (the spelling before the subcommands) still work
for one release, with a one-line note."""

from __future__ import annotations

from . import argtypes
from .output import Result


def register(sub) -> None:
    from ..zoo.rows import D2L_ROWS, ROWS

    p = sub.add_parser("zoo", help="the zoo table: every family trained on Fashion-MNIST by a recipe",
                       description="Print the zoo table: each row's model, parameters, MACs, final-epoch test "
                                   "accuracy (mean ± sd over seeds, read from its model card), the textbook's "
                                   "figure, training time and recipe. Load a row's weights anywhere a checkpoint "
                                   "is accepted as zoo:NAME (docs/zoo.md).")
    p.add_argument("words", nargs="*", metavar="list | train ROW | estimate [ROW...] | plot [PNG] | fetch NAME",
                   help="what to do (default: list the table)")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--train", metavar="ROW", choices=[*ROWS, *D2L_ROWS],
                      help="train ROW by its recipe (seeds already trained are kept) and publish its weights, "
                           f"card and log; rows: {', '.join(ROWS)}; the textbook's recipes re-run: "
                           f"{', '.join(D2L_ROWS)}")
    what.add_argument("--estimate", metavar="ROW", nargs="*", choices=list(ROWS),
                      help="run each ROW's recipe (default: every row) for 20 batches and 1,000 test images and "
                           "estimate its minutes on this machine (zoo/estimate.py)")
    what.add_argument("--plot", metavar="PNG", nargs="?", const="zoo.png",
                      help="draw test accuracy against multiply-adds, parameters as marker area, coloured by "
                           "family (the lectures' chart) into PNG (default zoo.png)")
    what.add_argument("--fetch", metavar="NAME", help="download NAME's weights (too large to ship) into the cache, "
                                                      "checked by SHA-256; $CONVZOO_ZOO_URL sets where from")
    p.add_argument("--seeds", type=argtypes.integer(1, 10), metavar="K",
                   help="with --train: seeds 0..K-1 (default: the row's, 3 or 1)")
    p.add_argument("--threads", type=argtypes.integer(1, 64), default=1,
                   help="with --train or --estimate: CPU threads (default 1)")
    p.add_argument("--data-dir", metavar="DIR", help="with --estimate: where Fashion-MNIST's files are "
                                                     "(default: where `convzoo data list` finds it)")
    p.add_argument("--runs", default="runs/zoo", metavar="DIR", help="with --train: where the seed runs go")
    p.add_argument("--json", action="store_true", help="print the table (or the card, or the fetched file) as JSON")
    p.set_defaults(func=run_zoo)


SUBCOMMANDS = ("list", "train", "estimate", "plot", "fetch")


def _from_words(args) -> None:
    """`zoo train ROW` and the other subcommands, set as the flags they replace; the old flags get
    their note."""
    import sys

    from ..errors import ConvzooError, unknown_name
    from ..zoo.rows import D2L_ROWS, ROWS

    old = [flag for flag, value in (("--train", args.train), ("--estimate", args.estimate), ("--plot", args.plot),
                                    ("--fetch", args.fetch)) if value is not None]
    if old and args.words:
        raise ConvzooError(f"zoo {' '.join(args.words)}: give the subcommand alone, without {old[0]}")
    if old:
        print(f"note: `convzoo zoo {old[0]} ...` is now `convzoo zoo {old[0][2:]} ...`; the flag goes in the next "
              "release", file=sys.stderr)
        return
    if not args.words:
        return
    action, rest = args.words[0], args.words[1:]
    if action not in SUBCOMMANDS:
        raise unknown_name("zoo subcommand", action, list(SUBCOMMANDS))
    if action in ("list",) and rest or action in ("train", "fetch") and len(rest) != 1 or action == "plot" and len(rest) > 1:
        raise ConvzooError(f"zoo {' '.join(args.words)}: expected one of: list; train ROW; estimate [ROW...]; "
                           "plot [PNG]; fetch NAME")
    for row in rest if action in ("train", "estimate") else []:
        known = [*ROWS, *D2L_ROWS] if action == "train" else list(ROWS)
        if row not in known:
            raise unknown_name("zoo row", row, known)
    if action == "train":
        args.train = rest[0]
    elif action == "estimate":
        args.estimate = rest
    elif action == "plot":
        args.plot = rest[0] if rest else "zoo.png"
    elif action == "fetch":
        args.fetch = rest[0]


def run_zoo(args) -> Result:
    from ..errors import ConvzooError

    _from_words(args)

    if (args.seeds is not None or args.runs != "runs/zoo") and not args.train:
        raise ConvzooError("--seeds and --runs go with --train ROW")
    if args.threads != 1 and not (args.train or args.estimate is not None):
        raise ConvzooError("--threads goes with --train ROW or --estimate")
    if args.data_dir is not None and args.estimate is None:
        raise ConvzooError("--data-dir goes with --estimate")
    if args.train:
        return _train(args)
    if args.estimate is not None:
        return _estimate(args)
    if args.fetch:
        return _fetch(args)
    if args.plot:
        from ..zoo.plot import write_plot

        path = write_plot(args.plot)
        return Result({"plot": str(path)}, [f"wrote {path}"])
    from ..zoo.table import zoo_table

    rows = zoo_table()
    return Result(list(rows), rows.table().blocks)


def _train(args) -> Result:
    from pathlib import Path

    from ..zoo.publish import train_row
    from ..zoo.table import format_accuracy

    c = train_row(args.train, args.seeds, Path(args.runs), args.threads)["card"]
    where = "in the package" if c["weights"]["shipped"] else "in runs/zoo/publish (listed in the manifest)"
    return Result(c, [f"zoo:{c['name']}: {format_accuracy(c['accuracy'])}; weights {where}, card {c['name']}.json/.md"])


def _estimate(args) -> Result:
    import sys

    from ..timing import machine
    from ..zoo.estimate import estimate_row, format_estimates
    from ..zoo.rows import ROWS

    estimates = []
    for name in args.estimate or list(ROWS):
        estimates.append(estimate_row(name, args.threads, data_dir=args.data_dir))
        print(f"  timed {name}: ~{estimates[-1].minutes:.1f} min", file=sys.stderr, flush=True)  # progress
    where = machine()
    return Result({"machine": where, "rows": [e.to_dict() for e in estimates]}, [format_estimates(estimates, where)])


def _fetch(args) -> Result:
    from ..zoo.store import fetch

    path = fetch(args.fetch, progress=not args.json)
    return Result({"name": args.fetch, "path": str(path)}, [f"zoo:{args.fetch} is at {path}"])
