"""`convzoo bench peak`: the machine's fp32 and bf16 matrix-multiply rates (GFLOP/s), measured with
large square products and cached in ~/.cache/convzoo/peak.json for `bench train`'s % of peak."""

from __future__ import annotations

from ..tables import Grid
from . import argtypes
from .argtypes import MAX_ROUNDS
from .output import Result


def register(bench_sub) -> None:
    p = bench_sub.add_parser("peak", help="fp32 and bf16 matmul GFLOP/s of this machine (cached)",
                             description=__doc__.splitlines()[0])
    p.add_argument("--size", type=argtypes.integer(1, 8192), default=3072, help="matrix side (default 3072)")
    p.add_argument("--repeats", type=argtypes.integer(1, MAX_ROUNDS), default=5, help="products per dtype; the best is kept")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)


def run(args) -> Result:
    from ..bench.peak import machine_peak, peak_cache_path
    from ..timing import peak_rss_mib

    peak, _ = machine_peak(refresh=True, size=args.size, repeats=args.repeats)
    ratios = {dtype: peak[dtype] / peak["fp32"] for dtype in ("fp32", "bf16")}
    data = {"size": args.size, "repeats": args.repeats, **peak, "cache": str(peak_cache_path()),
            "peak_rss_mib": peak_rss_mib(), "ratio_vs_fp32": ratios}
    return Result(data, [
        (f"bench peak: {args.size}x{args.size} matmul, best of {args.repeats}; {peak['cpu']}, "
         f"{peak['threads']} threads, torch {peak['torch']}"),
        Grid(("dtype", "GFLOP/s", "ratio vs fp32"),
             [(dtype, f"{peak[dtype]:,.1f}", f"{ratio:.2f}x") for dtype, ratio in ratios.items()]),
        (f"cached in {data['cache']}" if peak["cached"] else
         f"not cached: {data['cache']} keeps this machine's rate on larger matrices"), f"peak RSS {data['peak_rss_mib']:,.0f} MiB"])
