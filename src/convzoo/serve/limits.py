"""What one request may ask of a model, so that a few requests cannot tie the demo up.

- Pixels: a classifier resizes any picture to its input (cheap), but a segmenter runs at the
  picture's own size: memory and time grow with the pixels (a 4096x4096 scene takes ~30 s and
  GBs). The demo segments at most MAX_SEGMENT_PIXELS (`convzoo segment` has no such cap).
- Work per model: each model answers one request at a time; at most MAX_WAITING more wait for
  it, and a request beyond that is answered 503 at once instead of queueing without end.
"""

from __future__ import annotations

import contextlib
import threading

from ..errors import ConvzooError
from ..infer import ImageTooLarge

MAX_SEGMENT_PIXELS = 1024 * 1024
MAX_WAITING = 4


class Busy(ConvzooError):
    """The model has MAX_WAITING requests waiting already (the API answers 503)."""


def check_pixels(task: str, image) -> None:
    width, height = image.size
    if task == "segmentation" and width * height > MAX_SEGMENT_PIXELS:
        raise ImageTooLarge(f"the demo segments at most {MAX_SEGMENT_PIXELS:,} pixels, not {width}x{height}; "
                            "scale the picture down, or use `convzoo segment` for the full size")


class Queues:
    """How many requests each model is answering or waiting for."""

    def __init__(self, waiting: int = MAX_WAITING):
        self.limit = 1 + waiting
        self.counts: dict[str, int] = {}
        self.lock = threading.Lock()

    @contextlib.contextmanager
    def slot(self, key: str):
        with self.lock:
            if self.counts.get(key, 0) >= self.limit:
                raise Busy(f"{key} is busy ({self.limit} requests ahead of this one); retry in a moment")
            self.counts[key] = self.counts.get(key, 0) + 1
        try:
            yield
        finally:
            with self.lock:
                self.counts[key] -= 1
