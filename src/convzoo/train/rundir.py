"""The writer of a run directory, for every engine: its name and checks (a file in the way, another
run, another kind's folder), the folder made only when the run first saves, and the files a run
holds (config.json, checkpoint.pt, metrics.jsonl, curves.png, eval.json), each written atomically
by rank 0. Also what a run to resume must hold (`resumable_payload`, `resumed_config`).

`RunDirectory(path, resumable)`: `path` is None until `settle` names the default; a run that can
be continued (`resumable`, the Trainer's) suggests `--resume` when its folder already holds one.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from ..atomic import check_owner, write_json, write_text
from ..errors import ConvzooError
from . import distributed
from .checkpoint import CHECKPOINT_NAME, load_checkpoint, save_checkpoint
from .config import TrainConfig
from .curves import plot_curves


def default_run_path(label: str, data_name: str) -> Path:
    """runs/LABEL-DATA-TIMESTAMP, for a run given no --out."""
    return Path("runs") / f"{label}-{data_name}-{datetime.now():%Y%m%d-%H%M%S}"


class RunDirectory:
    def __init__(self, path: Path | None, resumable: bool = True):
        self.path = path
        self.resumable = resumable

    @property
    def checkpoint(self) -> Path:
        return self.path / CHECKPOINT_NAME

    def check(self, continuing: bool = False) -> None:
        """Refuse, before anything slow, a folder this run cannot write (`continuing`: a resumed run's
        own folder, which holds its checkpoint)."""
        if self.path is None:
            return
        if self.path.exists() and not self.path.is_dir():
            raise ConvzooError(f"--out {self.path}: a file is in the way (a run directory is a folder)")
        if not continuing and self.checkpoint.exists():
            hint = f"use --resume {self.path} or another --out" if self.resumable else "use another --out"
            raise ConvzooError(f"{self.path} already holds a run; {hint}")
        check_owner(self.path, "config.json")  # a study's, search's or baseline's folder is not a run's

    def settle(self, default: Callable[[], Path], continuing: bool, is_main: bool = True) -> None:
        """Rank 0 names (`default()` when no path was given) and checks the folder again (the default
        name, or a folder filled since the first check), and every process learns the answer."""
        problem = None
        if is_main:
            self.path = self.path or default()
            try:
                self.check(continuing)
            except ConvzooError as exc:
                problem = str(exc)
        self.path, problem = distributed.broadcast((self.path, problem))
        if problem:
            raise ConvzooError(problem)

    def make(self) -> None:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConvzooError(f"cannot write the run directory {self.path} ({exc.strerror or exc})") from None

    def diverged(self, detail: str, epochs_saved: int) -> ConvzooError:
        """The one line for a run whose loss stopped being a number, saying what its folder keeps."""
        kept = f"{self.checkpoint} keeps epoch {epochs_saved}" if epochs_saved else "nothing was saved"
        return ConvzooError(f"training diverged: {detail} (try a lower --lr); {kept}")

    def write_config(self, record: dict) -> None:
        write_json(self.path / "config.json", record)

    def write_checkpoint(self, state: dict) -> None:
        save_checkpoint(self.checkpoint, state)

    def write_metrics(self, history: list[dict]) -> None:
        write_text(self.path / "metrics.jsonl", "".join(_json_line(row) for row in history))

    def write_curves(self, label: str, history: list[dict]) -> None:
        plot_curves({label: history}, self.path / "curves.png")

    def write_eval(self, epoch: int, evaluation, classes) -> None:
        write_json(self.path / "eval.json", {"epoch": epoch, **evaluation.to_dict(classes)})


def resumable_payload(run: str | Path) -> dict:
    """The checkpoint of the run in `run` (a run directory or checkpoint file), refused when it holds
    weights only."""
    payload = load_checkpoint(run)
    if "optimizer" not in payload or "config" not in payload:
        raise ConvzooError(f"{run} holds weights only (an export or pretrained model) and cannot be "
                           "resumed; start a new run")
    return payload


def resumed_config(payload: dict, run: str | Path, epochs: int | None, overrides: dict) -> TrainConfig:
    """The saved run's config, writing to its own folder, trained to `epochs` (None: as saved), with
    the `overrides` a resumed run may change (TrainConfig's `resume` fields)."""
    config = TrainConfig.from_dict(payload["config"])
    config.out = str(Path(run) if Path(run).is_dir() else Path(run).parent)
    if epochs is not None:
        if epochs < payload["epoch"]:
            raise ConvzooError(f"--epochs {epochs} is fewer than the {payload['epoch']} already done")
        config.epochs = epochs
    # An `auto` choice is kept: the resumed run continues with the setup it was measured to need.
    saved = payload.get("setup", {})
    if config.precision == "auto" and "precision" in saved:
        config.precision = saved["precision"]
    if config.channels_last is None and "channels_last" in saved:
        config.channels_last = saved["channels_last"]
    return dataclasses.replace(config, **overrides)  # validated like any config


def _json_line(row: dict) -> str:
    """One row as a line of strict JSON: a value that is not a finite number is written null."""
    return json.dumps({k: (v if not isinstance(v, float) or math.isfinite(v) else None) for k, v in row.items()}) + "\n"
