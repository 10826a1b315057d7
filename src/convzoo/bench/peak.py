"""`convzoo bench peak`: the machine's matrix-multiply rate in fp32 and bf16, cached per machine."""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F

from ..atomic import read_json_dict, write_json
from ..data import cache_root
from ..timing import machine, seconds_of

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
    """(peak, measured_now): the cache when valid, else a measurement, cached unless the cache holds
    this machine's rate on larger matrices (a small product underrates the machine, and `bench
    train`'s "of matmul" column reads the cache); `peak["cached"]` says which."""
    cached = cached_peak()
    if cached is not None and not refresh:
        return cached, False
    peak = measure_peak(size, repeats)
    peak["cached"] = cached is None or cached.get("size", 0) <= size
    if peak["cached"]:
        write_json(peak_cache_path(), {k: v for k, v in peak.items() if k != "cached"})
    return peak, True


def _cpuinfo() -> dict:
    """The first processor's fields of /proc/cpuinfo ({} where there is none: not Linux)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return {}
    fields = {}
    for line in text.split("\n\n")[0].splitlines():
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    return fields


def fma_lanes(vendor: str, family: int, flags: set[str]) -> tuple[int, str]:
    """fp32 multiply-adds a core issues per cycle, and why: the FMA pipes times their fp32 lanes."""
    if "avx512f" in flags and vendor == "AuthenticAMD" and family < 26:
        return 16, "two 256-bit FMA pipes (Zen 4 runs AVX-512 on them in two halves)"
    if "avx512f" in flags:
        return 32, "two 512-bit FMA pipes (server cores; parts with one have half this)"
    if {"avx2", "fma"} <= flags:
        return 16, "two 256-bit FMA pipes (AVX2 + FMA3)"
    if "avx" in flags:
        return 8, "one 256-bit multiply and one add pipe, no FMA"
    return 4, "SSE: 128-bit vectors"


def estimate_peak(threads: int | None = None) -> dict:
    """The fp32 (and bf16) peak from the CPU's description: threads x fp32 FMA lanes per cycle x 2
    FLOPs per multiply-add x clock. The clock is /proc/cpuinfo's `cpu MHz` (a VM reports its nominal
    clock; turbo is not counted). bf16 doubles fp32 where AVX512_BF16's dot products exist.
    {"fp32": GFLOP/s, "bf16": GFLOP/s, "how": "..."}, or {} where the CPU cannot be read."""
    info = _cpuinfo()
    try:
        ghz = float(info["cpu MHz"]) / 1000
    except (KeyError, ValueError):
        return {}
    threads = threads or torch.get_num_threads()
    flags = set(info.get("flags", "").split())
    family = int(info["cpu family"]) if info.get("cpu family", "").isdigit() else 0
    lanes, why = fma_lanes(info.get("vendor_id", ""), family, flags)
    fp32 = threads * lanes * 2 * ghz
    bf16 = 2 * fp32 if "avx512_bf16" in flags else fp32
    how = (f"{threads} threads x {lanes} fp32 FMA lanes per cycle ({why}) x 2 FLOPs per FMA x {ghz:.2f} GHz "
           f"(/proc/cpuinfo); bf16 {'2x fp32 (AVX512_BF16)' if bf16 > fp32 else 'as fp32 (no bf16 dot products)'}")
    return {"fp32": fp32, "bf16": bf16, "how": how}
