"""Timing helpers shared by the benchmarks."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Iterator


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
