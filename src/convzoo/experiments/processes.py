"""Several processes for one study or search (`--shard I/N`, `--jobs N`), and the engine's output kept off
stdout (a study keeps stdout for its result)."""

from __future__ import annotations

import contextlib
import io
import os
import sys

from ..children import run_children
from ..errors import ConvzooError


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """'I/N' -> (I, N) with 0 <= I < N."""
    if text is None:
        return None
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise ConvzooError(f"--shard takes I/N (e.g. 0/2), not {text!r}") from None
    if not 0 <= index < count:
        raise ConvzooError(f"--shard {text}: I must be 0 to N-1")
    return index, count


def run_jobs(jobs, name, quick, seeds, data, data_dir, out, log) -> None:
    """N processes of this study, each a shard, sharing the cores; waits for all of them."""
    command = ["study", "run", name, *(["--quick"] if quick else []), "--seeds", str(seeds), "--data", data,
               "--out", str(out)]
    if data_dir:
        command += ["--data-dir", str(data_dir)]
    run_shards(jobs, command, log)


def run_shards(jobs: int, command: list[str], log) -> None:
    """N processes of `convzoo COMMAND`, the i-th with --shard i/N, sharing the cores (--threads);
    waits for all of them. A failed one is logged: the caller retries what it left."""
    threads = max(1, (os.cpu_count() or 1) // jobs)
    base = [sys.executable, "-m", "convzoo", *command, "--threads", str(threads)]
    log(f"starting {jobs} processes of {threads} thread(s) each")
    codes = run_children([[*base, "--shard", f"{i}/{jobs}"] for i in range(jobs)])
    if any(codes):
        log(f"{sum(c != 0 for c in codes)} of {jobs} processes failed; this process retries what they left")


class Prefixed(io.TextIOBase):
    """Lines written to it go to `log` indented: the engine's epoch lines under the study's own."""

    def __init__(self, log):
        self.log, self.buffer = log, ""

    def write(self, text: str) -> int:
        self.buffer += text
        *lines, self.buffer = self.buffer.split("\n")
        for line in lines:
            if line.strip():
                self.log(f"    {line}")
        return len(text)


@contextlib.contextmanager
def engine_output(log):
    """The engine prints its progress on stdout; a study keeps stdout for its result (--json)."""
    stream = Prefixed(log)
    with contextlib.redirect_stdout(stream):
        yield
    if stream.buffer.strip():
        log(f"    {stream.buffer}")


def to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
