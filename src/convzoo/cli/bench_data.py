"""`convzoo bench data`: one epoch of training batches (translate + flip), without a model.

convzoo's batches are index, whole-batch augmentation and one fused normalise over the resident
uint8 dataset; the textbook DataLoader (per-sample over float tensors, no augmentation) runs
alternately for comparison.
"""

from __future__ import annotations

from ..tables import Grid
from . import argtypes
from .argtypes import MAX_BATCH, MAX_ROUNDS
from .output import Result


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


def run(args) -> Result:
    from ..bench.data import bench_data
    from ..errors import ConvzooError
    from ..timing import machine, peak_rss_mib

    bundle = load_bench_data(args)
    try:
        result = bench_data(bundle, args.batch_size, args.rounds, args.augment)
    except ValueError as exc:  # an unknown --augment
        raise ConvzooError(str(exc)) from None
    m, rss = machine(), peak_rss_mib()
    rows = [{"pipeline": "textbook DataLoader (per sample, no augmentation)", "seconds": result.textbook},
            {"pipeline": f"convzoo BatchLoader ({args.augment}, channels_last)", "seconds": result.convzoo}]
    for row in rows:
        row.update(examples_per_sec=result.examples / row["seconds"], speedup=result.textbook / row["seconds"])
    data = {"data": bundle.name, "examples": result.examples, "batch_size": args.batch_size, "rounds": args.rounds,
            "augment": args.augment, "textbook_seconds": result.textbook, "convzoo_seconds": result.convzoo,
            "speedup": result.textbook / result.convzoo, "machine": m, "peak_rss_mib": rss, "rows": rows}
    return Result(data, [
        (f"bench data: one epoch of {result.examples:,} {bundle.name} examples, batch {args.batch_size}; "
         f"median of {args.rounds} alternating epochs; {m['cpu']}, {m['threads']} threads"),
        Grid(("pipeline", "s/epoch", "examples/s", "speed-up"),
             [(r["pipeline"], f"{r['seconds']:.3f}", f"{r['examples_per_sec']:,.0f}", f"{r['speedup']:.2f}x")
              for r in rows]),
        f"peak RSS {rss:,.0f} MiB"])
