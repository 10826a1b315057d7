"""Write files so that a crash or a bad input never leaves a partial file behind.

Everything is written to a temporary file in the destination's folder and renamed into place
(`os.replace` is atomic on one filesystem). Any exception removes the temporary file; a process
killed mid-write leaves one behind, named `.NAME.HOST.PID.XXXX.tmp`, which `clean_stale_temporaries`
removes the next time its folder is opened (once that process is gone). Every file written here
gets the mode any new file gets (0644 under the usual umask), not mkstemp's private 0600. A path
that cannot be written (a missing or read-only folder, a folder in the way) is a one-line
`WriteError` (a ConvzooError): "cannot write PATH (why)".
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import tempfile
import time
from pathlib import Path

from .errors import WriteError

STALE_AFTER = 24 * 3600  # seconds: a temporary this old is stale whoever wrote it
_HOST = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:32] or "host"
_TEMPORARY = re.compile(r"^\..+\.(?P<host>[A-Za-z0-9-]+)\.(?P<pid>\d+)\.[^.]+\.(?:tmp|part)(?:\.gz)?$")


def cannot_write(path, exc: OSError) -> WriteError:
    if isinstance(exc, WriteError):
        return exc
    why = "a folder is in the way" if isinstance(exc, IsADirectoryError) else exc.strerror or str(exc)
    return WriteError(f"cannot write {path} ({why})")


def new_temporary(path: str | Path, suffix: str = ".tmp") -> Path:
    """An empty file beside `path`, named for this host and process, with a new file's usual mode."""
    path = Path(path)
    try:
        if path.is_dir():
            raise IsADirectoryError(21, "Is a directory", str(path))
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{_HOST}.{os.getpid()}.", suffix=suffix, dir=path.parent)
        os.close(fd)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; the result should look like any new file
    except OSError as exc:
        raise cannot_write(path, exc) from None
    return Path(tmp)


@contextlib.contextmanager
def atomic_path(path: str | Path):
    """Yield a temporary path beside `path`; on success it replaces `path`. An OSError while writing
    (a full disk, say) becomes "cannot write PATH"."""
    path = Path(path)
    tmp = new_temporary(path)
    try:
        try:
            yield tmp
            os.chmod(tmp, 0o666 & ~_umask())  # again: a writer may have replaced the file (safetensors does)
            os.replace(tmp, path)
        except OSError as exc:
            raise cannot_write(path, exc) from None
        except Exception as exc:  # a library's writer that wraps the disk's error in its own type
            if not _failed_write(exc):
                raise
            raise WriteError(f"cannot write {path} (the disk refused the write: {_why(exc)})") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


# How torch.save (its zip writer) and safetensors report a write the disk refused (full, a quota,
# a file size limit): not as OSError.
_WRITE_FAILURES = ("unexpected pos", "file write failed", "I/O error", "No space left", "Disk quota",
                   "File too large")


def _failed_write(exc: Exception) -> bool:
    return (isinstance(exc, RuntimeError) or type(exc).__name__ == "SafetensorError") and any(
        marker in str(exc) for marker in _WRITE_FAILURES)


def _why(exc: Exception) -> str:
    text = str(exc)
    for reason in ("No space left on device", "Disk quota exceeded", "File too large"):
        if reason in text:
            return reason
    return "no space left on device?" if "unexpected pos" in text else text.splitlines()[0][:80]


def clean_stale_temporaries(folder: str | Path) -> list[Path]:
    """Remove the temporaries a killed writer left in `folder`: those of a process of this host that
    no longer runs, and any older than STALE_AFTER. Returns what was removed; never raises."""
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        match = _TEMPORARY.match(entry.name)
        if not match or not entry.is_file(follow_symlinks=False):
            continue
        try:
            old = now - entry.stat(follow_symlinks=False).st_mtime > STALE_AFTER
            gone = match["host"] == _HOST and not _running(int(match["pid"]))
            if old or gone:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # another user's process, or not a pid: leave it
    return True


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: str | Path, text: str) -> None:
    write_bytes(path, text.encode())


def write_json(path: str | Path, obj) -> None:
    write_text(path, json.dumps(obj, indent=2) + "\n")


def read_json_dict(path: str | Path) -> dict:
    """A JSON object kept by convzoo (a cache), or {} when it is missing, unreadable or not an
    object: a cache that cannot be read costs a measurement, never the command."""
    try:
        value = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def save_figure(fig, path: str | Path, **kwargs) -> None:
    """Save a matplotlib figure atomically (format from the final name's suffix)."""
    path = Path(path)
    fmt = kwargs.pop("format", path.suffix.lstrip(".") or "png")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=fmt, **kwargs)


# The file that marks an output folder as one kind of job's (each job writes its own marker), and
# the outputs those jobs write beside it: a folder holding one of these with no marker of this job
# is another job's, or the user's own, and is never written over.
OWNERS = {"study.json": "a study", "search.json": "a search", "compare-state.json": "a comparison",
          "baseline.json": "a baseline", "config.json": "a training run"}
OWNED_OUTPUTS = ("results.json", "results.md", "eval.json", "checkpoint.pt", "model.npz")


def check_owner(out: str | Path, marker: str) -> None:
    """Refuse (one line) to write into folder `out` when it belongs to another kind of job than the
    one whose marker file is `marker`, or holds such outputs with no marker at all."""
    from .errors import ConvzooError

    out = Path(out)
    if not out.is_dir():
        return
    others = [kind for name, kind in OWNERS.items() if name != marker and (out / name).exists()]
    if others:
        raise ConvzooError(f"--out {out} holds {others[0]}'s outputs ({OWNERS.get(marker, 'this job')} "
                           "would write over them); use another --out")
    if not (out / marker).exists():
        found = [name for name in OWNED_OUTPUTS if (out / name).exists()]
        if found:
            raise ConvzooError(f"--out {out} holds {found[0]}, which this job did not write; use another --out")


def claim_folder(out: str | Path, state_file: str, state: dict, describe=lambda held: "another job",
                 record: bool = True) -> None:
    """Create folder `out` for a job and record `state` (its identity) in out/state_file; or, if
    `out` already holds a job, check that it is this one (a resumable job's runs would be reused).
    A file in the way, a folder of another kind of job (check_owner) or holding another job of
    this kind (named by `describe(held)`), or an unwritable path is a one-line error. With
    `record=False` the job writes out/state_file itself, at its end."""
    from .errors import ConvzooError

    out = Path(out)
    path = out / state_file
    if out.exists() and not out.is_dir():
        raise ConvzooError(f"--out {out}: a file is in the way (this writes a folder)")
    check_owner(out, state_file)
    state = json.loads(json.dumps(state))
    if path.is_file():
        try:
            held = json.loads(path.read_text())
        except (OSError, ValueError):
            held = {}
        if not isinstance(held, dict) or {k: held.get(k) for k in state} != state:
            raise ConvzooError(f"--out {out} holds {describe(held if isinstance(held, dict) else {})}; use another "
                               "--out, or remove it to start over")
        return
    try:
        out.mkdir(parents=True, exist_ok=True)
        if record:
            write_json(path, state)
    except OSError as exc:
        raise ConvzooError(f"cannot write --out {out} ({exc.strerror or exc})") from None
