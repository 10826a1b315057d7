"""Child processes die with their parent: `study --jobs`, `search --jobs`, `bench recipe` and the
demo benchmark start convzoo processes that must not train on after their parent is gone (a
SIGTERM or SIGKILL of the parent is not seen by Python, so the kernel is asked: Linux's
PR_SET_PDEATHSIG)."""

from __future__ import annotations

import contextlib
import subprocess


def run_children(commands: list[list[str]]) -> list[int]:
    """Run `commands` at once and wait for all of them (their exit codes). The children die with
    this process: each asks the kernel for SIGTERM when its parent goes (Linux's PR_SET_PDEATHSIG:
    a SIGKILL or SIGTERM of the parent is not seen by Python), and an exception here (Ctrl-C)
    terminates them before it propagates."""
    procs, on_fork = [], die_with_parent()
    try:
        for command in commands:
            # preexec_fn runs between fork and exec; it only calls prctl, resolved here beforehand,
            # so it takes no lock another thread could hold
            procs.append(subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                          preexec_fn=on_fork))  # noqa: PLW1509
        return [p.wait() for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(timeout=10)


def die_with_parent():
    """A function for the child that asks for SIGTERM when its parent dies (None off Linux)."""
    import ctypes
    import signal

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return lambda: prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
