"""`convzoo bench reference`: NumPy conv2d (vectorised and loop) next to torch's, same run.

For each layer, the vectorised NumPy conv2d and torch's fp32 conv2d are timed alternately, forward
and backward, and the medians printed with their ratio. The loop version is timed on one example,
once, and multiplied by the batch size (it is too slow for more; it is linear in the batch).
"""

from __future__ import annotations

import os
import platform

from ..tables import Grid
from . import argtypes
from .argtypes import MAX_ROUNDS
from .output import Result


def register(bench_sub) -> None:
    p = bench_sub.add_parser("reference", help="NumPy conv2d (vectorised, loop) against torch's",
                             description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=argtypes.integer(1, MAX_ROUNDS), default=7, help="timed runs per measurement (median)")
    p.add_argument("--quick", action="store_true", help="one tiny layer: checks the command runs")
    # One thread each by default: alternating the two libraries with all cores each makes them fight
    # (each one's idle pool still spins while the other runs). Measured on the quiet 2-core machine:
    # NumPy's ResNet-size forward took 205 ms that way and 33 ms on one thread.
    p.add_argument("--all-threads", dest="single_thread", action="store_false",
                   help="let torch and NumPy's BLAS use every core (they then disturb each other)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)


def run(args) -> Result:
    import torch

    from ..reference.blas import single_threaded_blas

    if not args.single_thread:
        return _run(args)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with single_threaded_blas():
            return _run(args)
    finally:
        torch.set_num_threads(threads)


def _run(args) -> Result:
    import numpy as np
    import torch

    from ..bench.reference import LAYERS, QUICK_LAYERS, measure_layer
    from ..reference.blas import blas_threads
    from ..timing import peak_rss_mib

    layers = QUICK_LAYERS if args.quick else LAYERS
    rows = [timing for layer in layers for timing in measure_layer(layer, args.repeats)]
    d = {"machine": platform.machine(), "cores": os.cpu_count(), "load_average": os.getloadavg()[0],
         "torch": torch.__version__, "torch_threads": torch.get_num_threads(), "numpy": np.__version__,
         "blas_threads": blas_threads(), "repeats": args.repeats}
    data = {**d, "layers": {layer.name: layer.describe() for layer in layers},
            "rows": [row.to_dict() for row in rows], "peak_rss_mib": peak_rss_mib()}
    return Result(data, [
        (f"conv2d, float32, {d['machine']}, {d['cores']} cores, load average {d['load_average']:.1f}; torch "
         f"{d['torch']} on {d['torch_threads']} thread(s), numpy {d['numpy']} with BLAS on {d['blas_threads'] or '?'} "
         f"thread(s); median of {args.repeats} alternating runs; loop: 1 example, 1 run, x batch"),
        *(f"  {layer.name}: {layer.describe()}" for layer in layers),
        Grid(("layer", "pass", "numpy ms", "torch ms", "numpy/torch", "loop ms (est.)", "loop/numpy"),
             [(r.layer, r.pass_name, f"{r.numpy_ms:.2f}", f"{r.torch_ms:.2f}", f"{r.numpy_ms / r.torch_ms:.2f}x",
               f"{r.loop_ms:,.0f}", f"{r.loop_ms / r.numpy_ms:,.0f}x") for r in rows]),
        f"peak RSS {data['peak_rss_mib']:,.0f} MiB (this process: numpy, torch and their buffers)"])
