"""`convzoo bench train MODEL`: convzoo's training step against the textbook loop, same process.

The textbook loop: a DataLoader over a TensorDataset of float tensors (per sample), fp32, NCHW,
plain SGD. convzoo's: the Trainer's step (resident uint8 data, whole-batch translate and flip,
precision and memory format as `convzoo train` picks them: measured fastest, cached); a middle
row runs convzoo's data pipeline with the textbook's numerics (fp32, NCHW), which separates the
two gains. Alternating rounds, medians; training FLOP/s (forward + backward, counted by
FlopCounterMode) as a share of `bench peak`'s rate.
"""

from __future__ import annotations

import json

from . import argtypes
from .argtypes import MAX_BATCH, MAX_ROUNDS
from .bench_data import add_data_arguments, load_bench_data


def register(bench_sub) -> None:
    p = bench_sub.add_parser("train", help="convzoo's training step vs the textbook loop (examples/s)",
                             description=__doc__.splitlines()[0])
    p.add_argument("model", help="a registered model; built for the dataset's shape")
    p.add_argument("--batch-size", type=argtypes.integer(1, MAX_BATCH), default=128)
    p.add_argument("--steps", type=argtypes.integer(1, 100_000), default=20, help="steps per round and loop (default 20)")
    p.add_argument("--rounds", type=argtypes.integer(1, MAX_ROUNDS), default=5, help="alternating rounds (default 5; medians)")
    p.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto",
                   help="convzoo's precision (default auto: the faster for this model, measured; the textbook loop is fp32)")
    add_data_arguments(p)
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..bench.peak import machine_peak
    from ..bench.timing import machine, peak_rss_mib
    from ..bench.train import bench_train
    from ..models import model_info

    model_info(args.model)  # an unknown name fails before the data loads
    bundle = load_bench_data(args)
    result = bench_train(args.model, bundle, args.batch_size, args.steps, args.rounds, args.precision)
    peak, measured = machine_peak()
    if args.json:
        print(json.dumps({**result.to_dict(), "data": bundle.name, "machine": machine(), "peak_gflops": peak,
                          "peak_measured_now": measured, "peak_rss_mib": peak_rss_mib()}))
        return 0
    print(report(result, bundle.name, peak, measured))
    return 0


def report(result, data: str, peak: dict, measured: bool) -> str:
    from ..bench.timing import machine, peak_rss_mib
    from ..tables import text_table

    m, flops = machine(), result.flops_per_example
    rows = []
    for loop in result.loops:
        gflops = loop.rate * flops / 1e9
        rows.append((loop.name, loop.precision, loop.layout, loop.data, f"{loop.rate:,.0f}",
                     f"{result.ratio(loop):.2f}x", f"{gflops:,.1f}",
                     f"{100 * gflops / peak[loop.precision]:.1f}% of {loop.precision}"))
    return "\n".join([
        (f"bench train: {result.model}, batch {result.batch_size}, {data}; {result.rounds} alternating "
         f"rounds of {result.steps} steps, medians; {m['cpu']}, {m['threads']} threads, torch {m['torch']}"),
        text_table(("loop", "precision", "layout", "data", "examples/s", "ratio", "GFLOP/s", "of peak"), rows),
        (f"training FLOPs: {flops / 1e6:,.2f} MFLOP per example (forward + backward, FlopCounterMode); "
         f"peak fp32 {peak['fp32']:,.0f}, bf16 {peak['bf16']:,.0f} GFLOP/s "
         f"({'measured now' if measured else 'cached'}; `convzoo bench peak` remeasures)"),
        f"peak RSS {peak_rss_mib():,.0f} MiB"])
