"""Training runs and studies under `convzoo demo --runs DIR`: listing, curves, live updates.

A run is a folder holding `metrics.jsonl`, `config.json` or `checkpoint.pt` (what `convzoo train
--out` writes); a study is a folder holding `results.json` or `study.json` (`convzoo study`),
whose own runs are found too. The search goes MAX_DEPTH folders down and stops at MAX_RUNS.

Live updates tail `metrics.jsonl`: the stream polls the file's size, time and inode every POLL
seconds and sends each row it has not sent (the trainer rewrites the whole file atomically at
every epoch; an appending writer works the same). At most MAX_STREAMS streams are open at once; a
stream ends when its client goes, or after MAX_STREAM_SECONDS (the browser's EventSource
reconnects by itself).
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConvzooError
from ..inside import file_inside, read_inside

MAX_DEPTH = 4  # folders below --runs searched
MAX_RUNS = 500  # runs and studies listed
MAX_METRICS_BYTES = 8 * 1024 * 1024  # a metrics.jsonl larger than this is read only to here
MAX_FIGURE_BYTES = 8 * 1024 * 1024
MAX_STREAMS = 8  # concurrent live streams
MAX_STREAM_SECONDS = 3600.0
POLL = 0.25  # seconds between looks at a metrics file
HEARTBEAT = 10.0  # seconds between keep-alive comments (they also reveal a client that left)
RUN_FILES = ("metrics.jsonl", "config.json", "checkpoint.pt")
STUDY_FILES = ("results.json", "study.json")


class TooManyStreams(ConvzooError):
    pass


@dataclass
class Found:
    name: str  # path relative to the root, with '/'
    path: Path
    kind: str  # "run" or "study"


def find_runs(root: str | Path, kind: str = "run") -> list[Found]:
    """Runs (or studies) under `root`, in path order; `root` itself counts too."""
    root = Path(root)
    if not root.is_dir():
        raise ConvzooError(f"--runs {root}: no such folder")
    found: list[Found] = []
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        depth = len(here.relative_to(root).parts)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")) if depth < MAX_DEPTH else []
        is_study = any(f in files for f in STUDY_FILES)
        is_run = not is_study and any(f in files for f in RUN_FILES)
        if (kind == "study" and is_study) or (kind == "run" and is_run):
            found.append(Found(here.relative_to(root).as_posix() if depth else here.name, here, kind))
            if len(found) >= MAX_RUNS:
                break
    return found


def check_runs_folder(root: str | Path) -> None:
    """One line at start when `root` holds neither runs nor studies."""
    if not find_runs(root) and not find_runs(root, "study"):
        raise ConvzooError(f"--runs {root}: no runs in it (no folder holding {', '.join(RUN_FILES)} "
                           f"or {', '.join(STUDY_FILES)})")


def read_rows(path: Path) -> list[dict]:
    """The JSON lines of a metrics file (at most MAX_METRICS_BYTES; a torn last line is skipped)."""
    if path.is_symlink():  # inside.py's rule: nothing under --runs is read through a link
        return []
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_METRICS_BYTES)
    except OSError:
        return []
    rows = []
    for line in data.splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


def _config(path: Path) -> tuple[dict, str | None]:
    """(the run's training config, the model's name: a module of your own by its class)."""
    try:
        data = json.loads(read_inside(path, "config.json", MAX_METRICS_BYTES) or b"{}")
    except ValueError:
        return {}, None
    if not isinstance(data, dict):
        return {}, None
    config, spec = data.get("config", data), data.get("model")
    config = config if isinstance(config, dict) else {}
    custom = isinstance(spec, dict) and spec.get("custom") and isinstance(spec.get("class"), str)
    return config, spec["class"].rsplit(".", 1)[-1] if custom else config.get("model")


def run_info(run: Found) -> dict:
    config, model = _config(run.path)
    rows = read_rows(run.path / "metrics.jsonl")
    return {"name": run.name, "model": model, "data": config.get("data"),
            "epochs": len(rows), "total_epochs": config.get("epochs"), "last": rows[-1] if rows else None,
            "finished": (run.path / "eval.json").is_file()}


def study_info(study: Found) -> dict:
    results = (read_inside(study.path, "results.md", MAX_METRICS_BYTES) or b"")[:200_000].decode(errors="replace")
    figures = sorted(p.name for p in study.path.glob("*.png") if file_inside(study.path, p.name))[:20]
    return {"name": study.name, "results_md": results, "figures": figures}


class Runs:
    """The `--runs` folder as the API sees it."""

    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()
        self._open = 0  # live streams
        self._lock = threading.Lock()

    def found(self, kind: str = "run") -> list[Found]:
        return find_runs(self.root, kind)

    def listing(self) -> dict:
        return {"root": self.root.name, "runs": [run_info(r) for r in self.found()],
                "studies": [study_info(s) for s in self.found("study")]}

    def resolve(self, name: str, kind: str = "run") -> Path:
        """A listed run's folder; anything else (an unknown name, '..') is refused."""
        for found in self.found(kind):
            if found.name == name:
                return found.path
        raise ConvzooError(f"no {kind} named {name!r} under --runs")

    def metrics(self, name: str) -> list[dict]:
        return read_rows(self.resolve(name) / "metrics.jsonl")

    def figure(self, study: str, name: str) -> Path:
        """A figure's bytes: a regular *.png in the study's own folder, never through a symbolic link
        (inside.py's rule, the one `convzoo report` follows)."""
        folder = self.resolve(study, "study")
        path = file_inside(folder, name) if "/" not in name and name.endswith(".png") else None
        if path is None:
            raise ConvzooError(f"study {study!r} has no figure {name!r}")
        data = read_inside(folder, name, MAX_FIGURE_BYTES)
        if data is None:
            raise ConvzooError(f"{name} is over the {MAX_FIGURE_BYTES:,}-byte figure limit")
        return data

    def check_streams(self) -> None:
        """Refuse a stream when MAX_STREAMS are open (checked again as the stream starts)."""
        if self._open >= MAX_STREAMS:
            raise TooManyStreams(f"{MAX_STREAMS} live streams are open already; close one and retry")

    def _take(self) -> bool:
        with self._lock:
            if self._open >= MAX_STREAMS:
                return False
            self._open += 1
            return True

    def _give(self) -> None:
        with self._lock:
            self._open -= 1

    async def stream(self, name: str, is_disconnected, stopping=lambda: False):
        """Server-sent events: every row of the run's metrics.jsonl, then each new one as it lands
        (`event: reset` with all rows when the file was started again from fewer rows)."""
        path = self.resolve(name) / "metrics.jsonl"
        if not self._take():  # the count is taken where it is given back: inside the stream
            yield _event("error", f"{MAX_STREAMS} live streams are open already")
            return
        sent, stamp, quiet = 0, None, 0.0
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            while loop.time() - started < MAX_STREAM_SECONDS and not stopping():
                try:
                    st = path.stat()
                    now = (st.st_mtime_ns, st.st_size, st.st_ino)
                except OSError:
                    now = None
                if now != stamp:
                    stamp = now
                    rows = read_rows(path) if now else []
                    if len(rows) < sent:
                        yield _event("reset", rows)
                    else:
                        for row in rows[sent:]:
                            yield _event("row", row)
                    sent, quiet = len(rows), 0.0
                elif quiet >= HEARTBEAT:
                    yield ": keep-alive\n\n"
                    quiet = 0.0
                if await is_disconnected():
                    return
                await asyncio.sleep(POLL)
                quiet += POLL
        finally:
            self._give()


class LiveRuns(Runs):
    """The runs of one module: those `Trainer.fit` makes for it in this process (`train.live`, looked
    up at each request, so a fit started after the server shows up) and any named run folders."""

    def __init__(self, model, named: list[str | Path] = ()):
        super().__init__(".")
        self.model, self.named = model, [Path(p).resolve() for p in named]
        for path in self.named:
            if not any((path / f).is_file() for f in RUN_FILES):
                raise ConvzooError(f"run {path}: not a run folder (none of {', '.join(RUN_FILES)})")
        self.root_label = type(model).__name__

    def found(self, kind: str = "run") -> list[Found]:
        from ..train.live import runs_of

        if kind != "run":
            return []
        paths = list(dict.fromkeys([*self.named, *runs_of(self.model)]))
        return [Found(p.name, p, "run") for p in paths]

    def listing(self) -> dict:
        return {**super().listing(), "root": f"this process ({self.root_label})"}


def _event(kind: str, data) -> str:
    return f"event: {kind}\ndata: {json.dumps(data)}\n\n"
