"""`convzoo bench reference`: NumPy conv2d (vectorised and loop) next to torch's, same run.

For each layer, the vectorised NumPy conv2d and torch's fp32 conv2d are timed alternately, forward
and backward, and the medians printed with their ratio. The loop version is timed on one example,
once, and multiplied by the batch size (it is too slow for more; it is linear in the batch).
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import time
from dataclasses import dataclass

from . import argtypes
from .argtypes import MAX_ROUNDS


@dataclass(frozen=True)
class Layer:
    name: str
    batch: int
    c_in: int
    c_out: int
    kernel: int
    padding: int
    size: int

    def describe(self) -> str:
        return (f"{self.c_in}->{self.c_out} {self.kernel}x{self.kernel} pad {self.padding}, "
                f"{self.size}x{self.size}, batch {self.batch}")


LAYERS = [Layer("lenet", 256, 6, 16, 5, 0, 14), Layer("resnet", 8, 64, 64, 3, 1, 56)]
QUICK_LAYERS = [Layer("tiny", 4, 3, 4, 3, 1, 8)]


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


def run(args) -> int:
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


def _run(args) -> int:
    import numpy as np
    import torch

    from ..reference.blas import blas_threads

    say = (lambda *a: None) if args.json else print
    say(f"conv2d, float32, {platform.machine()}, {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.1f}; torch {torch.__version__} on {torch.get_num_threads()} thread(s), "
        f"numpy {np.__version__} with BLAS on {blas_threads() or '?'} thread(s); median of "
        f"{args.repeats} alternating runs; loop: 1 example, 1 run, x batch")
    header = ("layer", "pass", "numpy ms", "torch ms", "numpy/torch", "loop ms (est.)", "loop/numpy")
    rows = []
    layers = QUICK_LAYERS if args.quick else LAYERS
    for layer in layers:
        rows.extend(_measure(layer, args.repeats))
        say(f"  {layer.name}: {layer.describe()}")
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
    if args.json:
        print(json.dumps({"machine": platform.machine(), "cores": os.cpu_count(), "torch": torch.__version__,
                          "torch_threads": torch.get_num_threads(), "numpy": np.__version__,
                          "blas_threads": blas_threads(), "repeats": args.repeats,
                          "layers": {layer.name: layer.describe() for layer in layers},
                          "rows": [dict(zip(header, row)) for row in rows], "peak_rss_mib": peak_mib}))
        return 0
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    print("  ".join(h.rjust(w) for h, w in zip(header, widths)))
    for row in rows:
        print("  ".join(cell.rjust(w) for cell, w in zip(row, widths)))
    print(f"peak RSS {peak_mib:,.0f} MiB (this process: numpy, torch and their buffers)")
    return 0


def _measure(layer: Layer, repeats: int) -> list[tuple[str, ...]]:
    import numpy as np
    import torch
    import torch.nn.functional as F

    from ..reference import conv2d_backward, conv2d_backward_loop, conv2d_forward, conv2d_forward_loop

    rng = np.random.default_rng(0)
    x = rng.standard_normal((layer.batch, layer.c_in, layer.size, layer.size), dtype=np.float32)
    w = rng.standard_normal((layer.c_out, layer.c_in, layer.kernel, layer.kernel), dtype=np.float32)
    b = rng.standard_normal(layer.c_out, dtype=np.float32)
    out, cache = conv2d_forward(x, w, b, padding=layer.padding)
    dout = rng.standard_normal(out.shape, dtype=np.float32)

    tx, tw, tb = (torch.from_numpy(a.copy()).requires_grad_() for a in (x, w, b))
    tdout = torch.from_numpy(dout)
    t_out = F.conv2d(tx, tw, tb, padding=layer.padding)

    def numpy_forward():
        conv2d_forward(x, w, b, padding=layer.padding)

    def torch_forward():
        F.conv2d(tx, tw, tb, padding=layer.padding)

    def numpy_backward():
        conv2d_backward(dout, cache)

    def torch_backward():
        torch.autograd.grad(t_out, (tx, tw, tb), tdout, retain_graph=True)

    timings = {name: [] for name in ("nf", "tf", "nb", "tb")}
    for fn in (numpy_forward, torch_forward, numpy_backward, torch_backward):
        fn()  # warm-up: first-call allocations and torch's kernel selection
    for _ in range(repeats):
        for name, fn in (("nf", numpy_forward), ("tf", torch_forward), ("nb", numpy_backward),
                         ("tb", torch_backward)):
            timings[name].append(_seconds(fn))
    medians = {name: statistics.median(values) for name, values in timings.items()}

    one = slice(0, 1)
    started = time.perf_counter()
    _, loop_cache = conv2d_forward_loop(x[one], w, b, padding=layer.padding)
    loop_forward = (time.perf_counter() - started) * layer.batch
    loop_backward = _seconds(lambda: conv2d_backward_loop(dout[one], loop_cache)) * layer.batch

    def row(pass_name, numpy_s, torch_s, loop_s):
        return (layer.name, pass_name, f"{numpy_s * 1e3:.2f}", f"{torch_s * 1e3:.2f}",
                f"{numpy_s / torch_s:.2f}x", f"{loop_s * 1e3:,.0f}", f"{loop_s / numpy_s:,.0f}x")

    return [row("forward", medians["nf"], medians["tf"], loop_forward),
            row("backward", medians["nb"], medians["tb"], loop_backward)]


def _seconds(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started
