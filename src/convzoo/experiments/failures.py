"""A run's failure remembered in its folder (failed.json), so that "the same command retries the
failed ones" stays true and useful: a run that fails the same way on the retry is reported as
failing for that reason, not as something another try would fix."""

from __future__ import annotations

import contextlib
from pathlib import Path

from ..atomic import read_json_dict, write_json

FAILED_FILE = "failed.json"


def remember_failure(run_dir: Path, message: str) -> str:
    """Record `message` for the run at `run_dir`; returns what to report (the message, marked when it
    is the same as the last attempt's)."""
    before = read_json_dict(run_dir / FAILED_FILE)
    again = before.get("message") == message
    with contextlib.suppress(OSError):  # a full disk may be why it failed: the report matters more
        write_json(run_dir / FAILED_FILE, {"message": message, "attempts": int(before.get("attempts", 0) or 0) + 1
                                           if again else 1})
    return f"{message} (the same failure as the last attempt: fix that before retrying)" if again else message


def forget_failure(run_dir: Path) -> None:
    with contextlib.suppress(OSError):
        (run_dir / FAILED_FILE).unlink(missing_ok=True)
