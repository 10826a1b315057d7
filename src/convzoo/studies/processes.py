"""Several processes for one study (`--shard I/N`, `--jobs N`), and the engine's output kept off
stdout (a study keeps stdout for its result)."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys

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
    threads = max(1, (os.cpu_count() or 1) // jobs)
    base = [sys.executable, "-m", "convzoo", "study", name, *(["--quick"] if quick else []), "--seeds", str(seeds),
            "--data", data, "--out", str(out), "--threads", str(threads)]
    if data_dir:
        base += ["--data-dir", str(data_dir)]
    log(f"starting {jobs} processes of {threads} thread(s) each")
    codes = run_children([[*base, "--shard", f"{i}/{jobs}"] for i in range(jobs)])
    if any(codes):
        log(f"{sum(c != 0 for c in codes)} of {jobs} processes failed; this process retries what they left")


def run_children(commands: list[list[str]]) -> list[int]:
    """Run `commands` at once and wait for all of them (their exit codes). The children die with
    this process: each asks the kernel for SIGTERM when its parent goes (Linux's PR_SET_PDEATHSIG:
    a SIGKILL or SIGTERM of the parent is not seen by Python), and an exception here (Ctrl-C)
    terminates them before it propagates."""
    procs, die_with_parent = [], _die_with_parent()
    try:
        for command in commands:
            # preexec_fn runs between fork and exec; it only calls prctl, resolved here beforehand,
            # so it takes no lock another thread could hold
            procs.append(subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                          preexec_fn=die_with_parent))  # noqa: PLW1509
        return [p.wait() for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(timeout=10)


def _die_with_parent():
    """A function for the child that asks for SIGTERM when its parent dies (None off Linux)."""
    import ctypes
    import signal

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return lambda: prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


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
