"""`convzoo bench peak`: the machine's matrix-multiply rate in fp32 and bf16, cached per machine."""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F

from ..atomic import read_json_dict, write_json
from ..data import cache_root
from .timing import machine, seconds_of

PEAK_CACHE = "peak.json"


def matmul_gflops(size: int, dtype: torch.dtype, repeats: int = 5) -> float:
    """Best rate over `repeats` products of two size x size matrices (2 n^3 FLOPs each), computed
    both as `a @ b` and as a 1x1 convolution: torch hands them to different libraries (MKL and
    oneDNN), and either may be the faster one on a given CPU (on AMD, oneDNN's fp32 is). The
    best, not the median, because noise from other processes only ever slows a run down."""
    a = torch.randn(size, size).to(dtype)
    b = torch.randn(size, size).to(dtype)
    image = a.T.reshape(1, size, 1, size).contiguous(memory_format=torch.channels_last)  # (1, C, 1, W)
    kernel = b.reshape(size, size, 1, 1)
    best = math.inf
    for product in (lambda: a @ b, lambda: F.conv2d(image, kernel)):
        product()  # first call: the library picks and prepares its kernels
        best = min(best, *(seconds_of(product) for _ in range(max(repeats, 1))))
    return 2 * size**3 / best / 1e9


def measure_peak(size: int = 3072, repeats: int = 5) -> dict:
    """{"fp32": GFLOP/s, "bf16": GFLOP/s, "size": n, **machine()}."""
    return {"fp32": matmul_gflops(size, torch.float32, repeats),
            "bf16": matmul_gflops(size, torch.bfloat16, repeats), "size": size, **machine()}


def peak_cache_path() -> Path:
    return cache_root() / PEAK_CACHE


def cached_peak() -> dict | None:
    """The cached peak if it was measured on this machine configuration, else None."""
    peak = read_json_dict(peak_cache_path())
    same = all(peak.get(k) == v for k, v in machine().items())
    return peak if same and {"fp32", "bf16"} <= set(peak) else None


def machine_peak(refresh: bool = False, size: int = 3072, repeats: int = 5) -> tuple[dict, bool]:
    """(peak, measured_now): the cache when valid, else a measurement that is then cached."""
    peak = None if refresh else cached_peak()
    if peak is not None:
        return peak, False
    peak = measure_peak(size, repeats)
    write_json(peak_cache_path(), peak)
    return peak, True
