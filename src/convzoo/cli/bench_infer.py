"""`convzoo bench infer MODEL`: latency at batch 1 (p50, p99) and throughput at batch 256, in fp32
and bf16 (eval mode, inference_mode, channels_last, random inputs of the model's size)."""

from __future__ import annotations

from ..tables import Grid
from . import argtypes
from .argtypes import MAX_BATCH, MAX_ROUNDS
from .output import Result


def register(bench_sub) -> None:
    p = bench_sub.add_parser("infer", help="batch-1 latency and batch-256 throughput, fp32 and bf16",
                             description=__doc__.splitlines()[0])
    p.add_argument("model", help="a registered model, your FILE.py:Class, or a checkpoint (run directory, file)")
    p.add_argument("--input-size", type=argtypes.integer(1, 1024), help="H = W (default: the model's own input size)")
    p.add_argument("--in-channels", type=argtypes.integer(1, 64), help="default: the model's own")
    p.add_argument("--num-classes", type=argtypes.integer(1, 100_000), default=10)
    p.add_argument("--calls", type=argtypes.integer(1, 100_000), default=200, help="batch-1 calls for the percentiles")
    p.add_argument("--batch-size", type=argtypes.integer(1, MAX_BATCH), default=256)
    p.add_argument("--batches", type=argtypes.integer(1, MAX_ROUNDS), default=5, help="large-batch calls (median)")
    argtypes.add_model_arg_flag(p)
    argtypes.add_code_flag(p)
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)


def run(args) -> Result:
    from ..bench.infer import bench_infer
    from ..timing import machine, peak_rss_mib

    model, (channels, size, _) = _model(args)
    results = [bench_infer(model, (channels, size, size), precision, args.calls, args.batch_size, args.batches)
               for precision in ("fp32", "bf16")]
    m, rss = machine(), peak_rss_mib()
    rows = [{"precision": r.precision, "p50_ms": r.p50, "p99_ms": r.p99, "examples_per_sec": r.throughput,
             "ratio_vs_fp32": r.throughput / results[0].throughput} for r in results]
    data = {"model": args.model, "input": [channels, size, size], "calls": args.calls, "batch_size": args.batch_size,
            "batches": args.batches, "machine": m, "results": rows, "peak_rss_mib": rss}
    return Result(data, [
        (f"bench infer: {args.model} on {channels}x{size}x{size}; {args.calls} batch-1 calls, "
         f"{args.batches} batch-{args.batch_size} calls; {m['cpu']}, {m['threads']} threads"),
        Grid(("precision", "p50 ms", "p99 ms", f"batch-{args.batch_size} ex/s", "ratio vs fp32"),
             [(r["precision"], f"{r['p50_ms']:.3f}", f"{r['p99_ms']:.3f}", f"{r['examples_per_sec']:,.0f}",
               f"{r['ratio_vs_fp32']:.2f}x") for r in rows]),
        f"peak RSS {rss:,.0f} MiB"])


def _model(args):
    """(model, its input (C, H, W)): a registry name built for the flags; the user's FILE.py:Class or a
    checkpoint (rebuilt with --code when it holds the user's own model) as analysis loads it."""
    from ..analysis.loading import is_model_name, load_model
    from ..models import create_model, model_info

    if not is_model_name(args.model):
        given = args.input_size or args.in_channels
        text = f"{args.in_channels or 1}x{args.input_size or 28}x{args.input_size or 28}" if given else None
        loaded = load_model(args.model, text, code=args.code, model_args=args.model_arg)
        channels, size = loaded.input_shape[0], loaded.input_shape[1]
        return loaded.model, (channels, size, size)
    info = model_info(args.model)
    channels = args.in_channels or info.input_size[0]
    size = args.input_size or info.input_size[1]
    return create_model(args.model, num_classes=args.num_classes, in_channels=channels, input_size=size), \
        (channels, size, size)
