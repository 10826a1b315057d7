"""Where a run lives: its directory (named, checked and filled by rank 0), the checkpoint that holds
everything a resumed run needs, and `resume`, which continues a run exactly where it stopped.

`RunDirectory` is a part of `Trainer` (a mixin): it reads the trainer's config, runtime, model,
optimiser and random generators.
"""

from __future__ import annotations

import dataclasses
import json
import platform
from datetime import datetime
from pathlib import Path

import torch
from torch import nn

from ..atomic import check_owner, write_json, write_text
from ..data import DataBundle
from ..errors import ConvzooError
from ..models import count_parameters
from . import distributed
from .checkpoint import CHECKPOINT_NAME, load_checkpoint, model_for_payload, save_checkpoint
from .config import TrainConfig
from .curves import plot_curves
from .live import record_run


class RunDirectory:
    def _default_run_dir(self) -> Path:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        return Path("runs") / f"{self.model_name}-{self.data.name}-{stamp}"

    def _check_out(self) -> None:
        if self.run_dir is None:
            return
        if self.run_dir.exists() and not self.run_dir.is_dir():
            raise ConvzooError(f"--out {self.run_dir}: a file is in the way (a run directory is a folder)")
        if self.epoch == 0 and (self.run_dir / CHECKPOINT_NAME).exists():
            raise ConvzooError(f"{self.run_dir} already holds a run; use --resume {self.run_dir} or another --out")
        check_owner(self.run_dir, "config.json")  # a study's, search's or baseline's folder is not a run's

    def _prepare_run_dir(self) -> None:
        """Rank 0 names and checks the run directory, and every process learns the answer."""
        problem = None
        if self.runtime.is_main:
            self.run_dir = self.run_dir or self._default_run_dir()
            try:
                self._check_out()  # again: the default name, or a directory filled since prepare()
            except ConvzooError as exc:
                problem = str(exc)
        self.run_dir, problem = distributed.broadcast((self.run_dir, problem))
        if problem:
            raise ConvzooError(problem)
        if not self.runtime.is_main:
            return
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConvzooError(f"cannot write the run directory {self.run_dir} ({exc.strerror or exc})") from None
        record_run(self.user_model if self.user_model is not None else self.model, self.run_dir)
        write_json(self.run_dir / "config.json", {
            "config": self.config.to_dict(), "model": self.model.convzoo_spec, "task": self.task.name,
            "parameters": count_parameters(self.model), "data": self.data.describe(),
            "runtime": {"device": str(self.runtime.device), "precision": self.runtime.precision,
                        "channels_last": self.setup.channels_last,
                        "world_size": self.runtime.world_size, "threads": torch.get_num_threads(),
                        "torch": torch.__version__, "python": platform.python_version()},
        })

    def state(self) -> dict:
        """Everything a checkpoint holds. Under DDP every process must call it (the random states of
        all ranks are gathered so that a resumed run continues each rank's stream)."""
        rng_ranks = distributed.gather(torch.get_rng_state())
        # `state_dict` holds the weights that were evaluated (so `convzoo eval` reproduces the run's
        # accuracy); with EMA on, the optimised weights that resume needs are `train_state_dict`.
        extra = {"train_state_dict": _cpu_state(self.model)} if self.ema is not None else {}
        if self.scaler is not None:
            extra["grad_scaler"] = self.scaler.state_dict()
        return {
            "model": self.model.convzoo_spec, "task": self.task.name,
            "state_dict": _cpu_state(self.eval_model), **extra,
            "config": self.config.to_dict(),
            "data": self.data.describe(),
            "setup": dataclasses.asdict(self.setup),
            "epoch": self.epoch, "step": self.step, "history": self.history,
            "optimizer": self.optimizer.state_dict(),
            "rng": {"torch": rng_ranks[0], "torch_ranks": rng_ranks, "data": self.generator.get_state()},
        }

    def _save(self, evaluation) -> None:
        state = self.state()
        if not self.runtime.is_main:
            return
        save_checkpoint(self.run_dir / CHECKPOINT_NAME, state)
        write_text(self.run_dir / "metrics.jsonl", "".join(_json_line(r) for r in self.history))
        write_json(self.run_dir / "eval.json", {"epoch": self.epoch, **evaluation.to_dict(self.classes)})
        plot_curves({self.model_name: self.history}, self.run_dir / "curves.png")

    @classmethod
    def resume(cls, run: str | Path, epochs: int | None = None, model: nn.Module | None = None,
               data: DataBundle | None = None, code: str | None = None, **overrides):
        """Continue the run saved in `run` (a run directory or checkpoint file). A run of the user's
        own model needs that model again: `model=` built as it was, or `code` (FILE.py or
        package.module) to rebuild it; `overrides` may set the config fields a resumed run may
        change (TrainConfig's `resume` fields)."""
        payload = load_checkpoint(run)
        if "optimizer" not in payload or "config" not in payload:
            raise ConvzooError(f"{run} holds weights only (an export or pretrained model) and cannot be "
                               "resumed; start a new run")
        if payload["model"].get("custom") and model is None:
            model = model_for_payload(payload, run, code=code)  # without code: one line naming --code
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
        config = dataclasses.replace(config, **overrides)  # validated like any config
        trainer = cls(config, data=data, model=model)
        trainer.epoch = payload["epoch"]  # a run to continue, not a new one in an occupied directory
        trainer.prepare()
        trainer.model.load_state_dict(payload.get("train_state_dict", payload["state_dict"]))
        if trainer.ema is not None:
            trainer.ema.model.load_state_dict(payload["state_dict"])
        trainer.optimizer.load_state_dict(payload["optimizer"])
        if trainer.scaler is not None and "grad_scaler" in payload:
            trainer.scaler.load_state_dict(payload["grad_scaler"])
        trainer.epoch, trainer.step, trainer.history = payload["epoch"], payload["step"], payload["history"]
        rng = payload["rng"]
        ranks = rng.get("torch_ranks", [rng["torch"]])
        if len(ranks) == trainer.runtime.world_size:
            torch.set_rng_state(ranks[trainer.runtime.rank])
        else:  # another process count: the data order continues exactly, in-model randomness anew
            torch.set_rng_state(rng["torch"])
            if trainer.runtime.rank:
                torch.manual_seed(config.seed + 1_000_003 * trainer.runtime.rank + trainer.step)
        trainer.generator.set_state(rng["data"])
        return trainer


def _cpu_state(model: torch.nn.Module) -> dict:
    return {k: v.detach().cpu() for k, v in model.state_dict().items()}


def _json_line(row: dict) -> str:
    return json.dumps(row) + "\n"
