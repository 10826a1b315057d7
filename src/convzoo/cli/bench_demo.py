"""`convzoo bench demo`: stroke end to answer and maps (POST /api/predict), p50 and p99, against a
real demo server on 127.0.0.1 serving any model."""

from __future__ import annotations

import json

from . import argtypes


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


def run(args) -> int:
    from ..bench.demo import bench_demo
    from ..tables import text_table
    from ..timing import machine

    result = bench_demo(args.checkpoint, args.model, args.requests, args.warmup)
    ms = sorted(result.latency_ms)
    if args.json:
        print(json.dumps({"model_key": result.key, "model": result.model, "payload_bytes": result.payload_bytes,
                          "p50_ms": result.p50, "p99_ms": result.p99, "latency_ms": list(result.latency_ms),
                          "warmup": args.warmup, "server_peak_rss_mib": result.server_peak_rss_mib,
                          "machine": machine()}))
        return 0
    print(f"bench demo: stroke end to answer and feature maps (POST /api/predict), model {result.key} "
          f"({result.model}), a {result.payload_bytes:,}-byte 280x280 PNG drawing; {len(ms)} sequential "
          f"requests after {args.warmup} warm-up; server: convzoo demo (1 torch thread) on 127.0.0.1; "
          f"{machine()['cpu']}")
    print(text_table(("p50 ms", "p99 ms", "min ms", "max ms", "requests/s"),
                [(f"{result.p50:.2f}", f"{result.p99:.2f}", f"{ms[0]:.2f}", f"{ms[-1]:.2f}",
                  f"{1e3 * len(ms) / sum(ms):.0f}")]))
    if result.server_peak_rss_mib is not None:
        print(f"server peak RSS {result.server_peak_rss_mib:,.0f} MiB")
    return 0
