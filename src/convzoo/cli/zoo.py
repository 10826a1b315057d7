"""`convzoo zoo`: the zoo table (every family on Fashion-MNIST, from its model card); `--train ROW`
trains a row by its recipe and publishes it; `--fetch NAME` downloads a large model's weights."""

from __future__ import annotations

import json

from . import argtypes


def register(sub) -> None:
    from ..zoo.rows import D2L_ROWS, ROWS

    p = sub.add_parser("zoo", help="the zoo table: every family trained on Fashion-MNIST by a recipe",
                       description="Print the zoo table: each row's model, parameters, MACs, final-epoch test "
                                   "accuracy (mean ± sd over seeds, read from its model card), the textbook's "
                                   "figure, training time and recipe. Load a row's weights anywhere a checkpoint "
                                   "is accepted as zoo:NAME (docs/zoo.md).")
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


def run_zoo(args) -> int:
    from ..errors import ConvzooError

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
        print(json.dumps({"plot": str(path)}) if args.json else f"wrote {path}")
        return 0
    from ..zoo.table import format_table, zoo_table

    rows = zoo_table()
    print(json.dumps(rows) if args.json else format_table(rows))
    return 0


def _train(args) -> int:
    from pathlib import Path

    from ..zoo.publish import train_row
    from ..zoo.table import format_accuracy

    card = train_row(args.train, args.seeds, Path(args.runs), args.threads)
    if args.json:
        print(json.dumps(card["card"]))
        return 0
    c = card["card"]
    where = "in the package" if c["weights"]["shipped"] else "in runs/zoo/publish (listed in the manifest)"
    print(f"zoo:{c['name']}: {format_accuracy(c['accuracy'])}; weights {where}, card {c['name']}.json/.md")
    return 0


def _estimate(args) -> int:
    from ..timing import machine
    from ..zoo.estimate import estimate_row, format_estimates
    from ..zoo.rows import ROWS

    estimates = []
    for name in args.estimate or list(ROWS):
        estimates.append(estimate_row(name, args.threads, data_dir=args.data_dir))
        if not args.json:
            print(f"  timed {name}: ~{estimates[-1].minutes:.1f} min", flush=True)
    if args.json:
        print(json.dumps({"machine": machine(), "rows": [e.to_dict() for e in estimates]}))
    else:
        print(format_estimates(estimates, machine()))
    return 0


def _fetch(args) -> int:
    from ..zoo.store import fetch

    path = fetch(args.fetch, progress=not args.json)
    print(json.dumps({"name": args.fetch, "path": str(path)}) if args.json else f"zoo:{args.fetch} is at {path}")
    return 0
