"""`convzoo bench demo`: stroke end to answer and maps (POST /api/predict), p50 and p99, against a
real demo server on 127.0.0.1 serving any model."""

from __future__ import annotations

from ..tables import Grid
from . import argtypes
from .output import Result


def register(bench_sub) -> None:
    p = bench_sub.add_parser("demo", help="web demo: stroke end to answer and maps, p50/p99, real local server",
                             description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", help="served model: a zoo or pretrained name, a run directory or a "
                                        "checkpoint file (default: the pretrained digits)")
    p.add_argument("--model", help="the served model's key to time (default: the server's first)")
    p.add_argument("--requests", type=argtypes.integer(1, 100_000), default=300, help="timed requests, one at a time")
    p.add_argument("--warmup", type=argtypes.integer(0, 10_000), default=20, help="untimed requests first")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)


def run(args) -> Result:
    from ..bench.demo import bench_demo
    from ..timing import machine

    result = bench_demo(args.checkpoint, args.model, args.requests, args.warmup)
    ms, m = sorted(result.latency_ms), machine()
    data = {"model_key": result.key, "model": result.model, "payload_bytes": result.payload_bytes,
            "p50_ms": result.p50, "p99_ms": result.p99, "latency_ms": list(result.latency_ms),
            "warmup": args.warmup, "server_peak_rss_mib": result.server_peak_rss_mib, "machine": m,
            "requests": len(ms), "min_ms": ms[0], "max_ms": ms[-1], "requests_per_sec": 1e3 * len(ms) / sum(ms),
            "drawing": "280x280 PNG", "server": "convzoo demo (1 torch thread) on 127.0.0.1"}
    rss = [] if result.server_peak_rss_mib is None else [f"server peak RSS {result.server_peak_rss_mib:,.0f} MiB"]
    return Result(data, [
        (f"bench demo: stroke end to answer and feature maps (POST /api/predict), model {result.key} "
         f"({result.model}), a {result.payload_bytes:,}-byte {data['drawing']} drawing; {len(ms)} sequential "
         f"requests after {args.warmup} warm-up; server: {data['server']}; {m['cpu']}"),
        Grid(("p50 ms", "p99 ms", "min ms", "max ms", "requests/s"),
             [(f"{result.p50:.2f}", f"{result.p99:.2f}", f"{ms[0]:.2f}", f"{ms[-1]:.2f}",
               f"{data['requests_per_sec']:.0f}")]), *rss])
