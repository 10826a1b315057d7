"""`convzoo bench data`: one epoch of training batches (translate + flip), without a model.

convzoo's batches are index, whole-batch augmentation and one fused normalise over the resident
uint8 dataset; the textbook DataLoader (per-sample over float tensors, no augmentation) runs
alternately for comparison.
"""

from __future__ import annotations

import json

from . import argtypes
from .argtypes import MAX_BATCH, MAX_ROUNDS


def add_data_arguments(p) -> None:
    p.add_argument("--data", default="fashion-mnist", help="dataset (default fashion-mnist)")
    p.add_argument("--data-dir", help="where the dataset's files are (else the usual search)")


def load_bench_data(args):
    from ..data import load_dataset

    return load_dataset(args.data, args.data_dir)


def register(bench_sub) -> None:
    p = bench_sub.add_parser("data", help="seconds per epoch of augmented batches, no model",
                             description=__doc__.splitlines()[0])
    p.add_argument("--batch-size", type=argtypes.integer(1, MAX_BATCH), default=128)
    p.add_argument("--rounds", type=argtypes.integer(1, MAX_ROUNDS), default=3, help="alternating epochs of each (default 3; medians)")
    p.add_argument("--augment", default="crop+flip", help="convzoo's augmentation (default crop+flip)")
    add_data_arguments(p)
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..bench.data import bench_data
    from ..errors import ConvzooError
    from ..tables import text_table
    from ..timing import machine, peak_rss_mib

    bundle = load_bench_data(args)
    try:
        result = bench_data(bundle, args.batch_size, args.rounds, args.augment)
    except ValueError as exc:  # an unknown --augment
        raise ConvzooError(str(exc)) from None
    if args.json:
        print(json.dumps({"data": bundle.name, "examples": result.examples, "batch_size": args.batch_size,
                          "rounds": args.rounds, "augment": args.augment, "textbook_seconds": result.textbook,
                          "convzoo_seconds": result.convzoo, "speedup": result.textbook / result.convzoo,
                          "machine": machine(), "peak_rss_mib": peak_rss_mib()}))
        return 0
    m = machine()
    print(f"bench data: one epoch of {result.examples:,} {bundle.name} examples, batch {args.batch_size}; "
          f"median of {args.rounds} alternating epochs; {m['cpu']}, {m['threads']} threads")
    rows = [("textbook DataLoader (per sample, no augmentation)", result.textbook, "1.00x"),
            (f"convzoo BatchLoader ({args.augment}, channels_last)", result.convzoo,
             f"{result.textbook / result.convzoo:.2f}x")]
    print(text_table(("pipeline", "s/epoch", "examples/s", "speed-up"),
                [(name, f"{s:.3f}", f"{result.examples / s:,.0f}", ratio) for name, s, ratio in rows]))
    print(f"peak RSS {peak_rss_mib():,.0f} MiB")
    return 0
