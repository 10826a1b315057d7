"""The one timing core: every benchmark, the Trainer's setup choice (train/tune.py) and the demo's
benchmark measure through it.

Comparisons are measured side by side in one process, in alternating rounds, and reported as
medians: these machines are shared, so a ratio is meaningful where an absolute time from another
run would not be (DESIGN.md). This module imports nothing from convzoo, so any layer may use it.
"""

from __future__ import annotations

import contextlib
import platform
import resource
import statistics
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path


def seconds_of(fn: Callable[[], object], calls: int = 1) -> float:
    """Wall-clock seconds of `calls` calls of `fn`."""
    started = time.perf_counter()
    for _ in range(calls):
        fn()
    return time.perf_counter() - started


def alternating_medians(fns: dict[str, Callable[[], object]], rounds: int, calls: int = 1,
                        warmup: bool = True) -> dict[str, float]:
    """Median seconds per call of each function, over `rounds` rounds in which every function runs
    `calls` times in turn (after one warm-up call each: kernel selection, first allocations).
    Alternating spreads the machine's slow moments over all of them alike."""
    if warmup:
        for fn in fns.values():
            fn()
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(max(rounds, 1)):
        for name, fn in fns.items():
            samples[name].append(seconds_of(fn, calls) / calls)
    return {name: statistics.median(values) for name, values in samples.items()}


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(samples: list[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation between order statistics."""
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


class LatencyPercentiles:
    """p50 and p99 of a result's `latency_ms` samples (shared by the benchmark result types)."""

    latency_ms: list[float]

    @property
    def p50(self) -> float:
        return percentile(self.latency_ms, 50)

    @property
    def p99(self) -> float:
        return percentile(self.latency_ms, 99)


def machine() -> dict:
    """What a measurement depends on: CPU, threads, torch."""
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    return {"cpu": cpu, "threads": torch.get_num_threads(), "torch": torch.__version__}


class PausableClock:
    """Seconds since it was made, not counting the time spent inside `paused()`: measurements taken
    along the way (evaluations) cost the clock nothing."""

    def __init__(self):
        self._started = time.perf_counter()
        self._paused_since: float | None = None
        self.paused_seconds = 0.0

    def seconds(self) -> float:
        now = self._paused_since if self._paused_since is not None else time.perf_counter()
        return now - self._started - self.paused_seconds

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        if self._paused_since is not None:  # already paused: an inner pause adds nothing
            yield
            return
        self._paused_since = time.perf_counter()
        try:
            yield
        finally:
            self.paused_seconds += time.perf_counter() - self._paused_since
            self._paused_since = None


def forever(batches: Iterable):
    """Batches without end, a new epoch (a new permutation) whenever one ends."""
    while True:
        yield from batches


def git_commit(mark_changes: bool = False) -> str | None:
    """The commit the package's source is at (None outside a git checkout); with `mark_changes`,
    its first 12 digits marked `+changes` when the working tree differs from it (a record run of
    uncommitted code says so)."""
    def git(*args) -> str:
        try:
            return subprocess.run(["git", *args], cwd=Path(__file__).parent, capture_output=True, text=True,
                                  timeout=10, check=False).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    commit = git("rev-parse", "HEAD") or None
    if commit is None or not mark_changes:
        return commit
    return commit[:12] + ("+changes" if git("status", "--porcelain", "--untracked-files=no") else "")
