"""Files named by someone else's data, read only from inside the folder that holds that data.

A results.json's `figures`, a study folder's `*.png` served by the demo: the name comes from a file
the user may have received, so it is hostile. The one rule: a relative name without `..`, every
component below the folder a real entry (no symbolic link is followed, whatever it points at),
the last one a regular file, and at most `max_bytes` read.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath


def file_inside(folder: str | Path, name) -> Path | None:
    """folder/name when the rule above allows it, else None."""
    if not isinstance(name, str) or not name or "\0" in name or "\\" in name:
        return None
    parts = PurePosixPath(name).parts
    if PurePosixPath(name).is_absolute() or any(p in ("..", ".") for p in parts):
        return None
    path = Path(folder)
    for i, part in enumerate(parts):
        path = path / part
        try:
            mode = os.lstat(path).st_mode
        except OSError:
            return None
        last = i == len(parts) - 1
        if stat.S_ISLNK(mode) or (last and not stat.S_ISREG(mode)) or (not last and not stat.S_ISDIR(mode)):
            return None
    return path


def read_inside(folder: str | Path, name, max_bytes: int) -> bytes | None:
    """The bytes of folder/name under the rule, or None (refused, missing or over `max_bytes`)."""
    path = file_inside(folder, name)
    if path is None:
        return None
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            return None  # swapped for something else since the check
        data = f.read(max_bytes + 1)
    return None if len(data) > max_bytes else data
