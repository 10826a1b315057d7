"""The Trainer: data -> model -> train -> evaluate -> checkpoint, configured by a TrainConfig.

Device, rank, precision and logging come from `Runtime`; batches from `BatchLoader`; all
randomness from seeded generators that the checkpoint saves, so `resume` continues exactly.
Options for speed and accuracy (docs/speed.md): `compile` (torch.compile of the training
forward/backward, its first step timed apart), `ema` (evaluate an exponential moving average of
the weights) and `tta` (the final test evaluation averages flipped and shifted views).
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import hashlib
import json
import platform
import time
from datetime import datetime
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

from ..atomic import write_json, write_text
from ..data import Augment, BatchLoader, DataBundle, load_dataset
from ..errors import ConvzooError
from ..models import count_parameters, create_model
from .checkpoint import CHECKPOINT_NAME, load_checkpoint, save_checkpoint
from .config import TrainConfig
from .curves import plot_curves
from .metrics import evaluate, evaluate_plain_and_tta, tta_views
from .runtime import Runtime, cpu_has_fast_bf16, seed_everything
from .schedule import lr_factor
from .tune import Setup, candidate_setups, fastest_setup


def build_optimizer(model: torch.nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    # Decay weights only: decaying BN scales and biases hurts and has no regularising meaning.
    decay = [p for p in model.parameters() if p.requires_grad and p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.ndim <= 1]
    groups = [{"params": decay, "weight_decay": config.weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    if config.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=config.lr)
    return torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum,
                           nesterov=config.nesterov and config.momentum > 0)


class WeightEMA:
    """An exponential moving average of a model's parameters and buffers (BN statistics too).

    The decay warms up as min(decay, (1 + step) / (10 + step)), so a short run does not average
    in its random initialisation; it is a function of the step, so a resumed run continues exactly.
    """

    def __init__(self, model: torch.nn.Module, decay: float):
        self.decay = decay
        self.model = copy.deepcopy(model).eval().requires_grad_(False)
        pairs = list(zip(self.model.state_dict().values(), model.state_dict().values()))
        self._floats = [(e, p) for e, p in pairs if e.is_floating_point()]
        self._counters = [(e, p) for e, p in pairs if not e.is_floating_point()]  # BN batch counts

    @torch.no_grad()
    def update(self, step: int) -> None:
        """Move the average towards the live weights (whose tensors it holds since construction)."""
        decay = min(self.decay, (1 + step) / (10 + step))
        averaged, live = zip(*self._floats)
        torch._foreach_lerp_(list(averaged), list(live), 1 - decay)
        for e, p in self._counters:
            e.copy_(p)


class Trainer:
    def __init__(self, config: TrainConfig, data: DataBundle | None = None, runtime: Runtime | None = None):
        self.config = config
        self.runtime = runtime or Runtime.create(config.precision, config.threads, config.progress)
        seed_everything(config.seed, config.deterministic)
        self.data = data or load_dataset(config.data, config.data_dir, val_split=config.val_split,
                                         test_holdout=config.test_holdout, seed=config.seed)
        train = self.data.train
        channels, height, width = train.shape
        self.classes = train.classes
        build = functools.partial(create_model, config.model, num_classes=len(self.classes), in_channels=channels,
                                  input_size=(height, width), **config.model_kwargs)
        self.model = build()
        self.setup = self._choose_setup(build, train.shape)
        self.runtime.precision = self.setup.precision
        memory_format = torch.channels_last if self.setup.channels_last else torch.contiguous_format
        self.model.to(self.runtime.device, memory_format=memory_format)
        self.optimizer = build_optimizer(self.model, config)
        self.ema = WeightEMA(self.model, config.ema) if config.ema else None
        # The compiled module shares the model's parameters; checkpoints keep the plain model's keys.
        self.step_model = torch.compile(self.model) if config.compile else self.model
        self.compile_seconds: float | None = None
        self.generator = torch.Generator().manual_seed(config.seed)
        try:
            augment = Augment.parse(config.augment, flippable=train.flippable)
        except ValueError as exc:
            raise ConvzooError(str(exc)) from None
        loader_args = {"device": self.runtime.device, "channels_last": self.setup.channels_last}
        self.train_batches = BatchLoader(
            train, config.batch_size, shuffle=True, augment=augment, drop_last=len(train) > config.batch_size,
            generator=self.generator, rank=self.runtime.rank, world_size=self.runtime.world_size, **loader_args)
        eval_size = max(config.batch_size, 512)
        self.test_batches = BatchLoader(self.data.test, eval_size, **loader_args)
        # TTA shows the views training showed (a view the model never saw costs accuracy); without
        # augmentation, the mirror image where it keeps the label.
        self.tta_views = functools.partial(tta_views, flip=augment.flip or (not augment and train.flippable),
                                           shift=1 if augment.translate else 0,
                                           fill=self.test_batches.normalize.shift)
        self.val_batches = BatchLoader(self.data.val, eval_size, **loader_args) if self.data.val else None
        self.steps_per_epoch = len(self.train_batches)
        self.total_steps = self.steps_per_epoch * config.epochs
        self.epoch = 0
        self.step = 0
        self.history: list[dict] = []
        self.run_dir = Path(config.out) if config.out else self._default_run_dir()

    def _choose_setup(self, build, input_shape) -> Setup:
        """Resolve `auto` precision and layout: measured on CPUs (train/tune.py), a rule on GPUs."""
        config, runtime = self.config, self.runtime
        if runtime.device.type != "cpu":
            return Setup(runtime.precision, config.channels_last is not False)
        setups = candidate_setups(config.precision, config.channels_last, cpu_has_fast_bf16())
        # The printed architecture is in the key, so a model whose layers change is measured anew.
        key = {"model": config.model, "architecture": hashlib.sha256(repr(self.model).encode()).hexdigest()[:16]}
        with torch.random.fork_rng(devices=[]):  # measuring must not move the run's random stream
            return fastest_setup(key, build, input_shape, len(self.classes), config.batch_size, setups,
                                 log=runtime.log)

    # ---- the run directory -------------------------------------------------------------
    def _default_run_dir(self) -> Path:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        return Path("runs") / f"{self.config.model}-{self.config.data}-{stamp}"

    def _prepare_run_dir(self) -> None:
        if self.epoch == 0 and (self.run_dir / CHECKPOINT_NAME).exists():
            raise ConvzooError(f"{self.run_dir} already holds a run; use --resume {self.run_dir} or "
                               "another --out")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        write_json(self.run_dir / "config.json", {
            "config": self.config.to_dict(), "model": self.model.convzoo_spec,
            "parameters": count_parameters(self.model), "data": self.data.describe(),
            "runtime": {"device": str(self.runtime.device), "precision": self.runtime.precision,
                        "channels_last": self.setup.channels_last,
                        "world_size": self.runtime.world_size, "threads": torch.get_num_threads(),
                        "torch": torch.__version__, "python": platform.python_version()},
        })

    # ---- training ----------------------------------------------------------------------
    def _warmup_steps(self) -> int:
        epochs = self.config.warmup_epochs
        if self.config.schedule == "onecycle" and not epochs:
            epochs = 0.3 * self.config.epochs
        return round(epochs * self.steps_per_epoch)

    def _set_lr(self) -> float:
        c = self.config
        lr = c.lr * lr_factor(c.schedule, self.step, self.total_steps, self._warmup_steps(),
                              c.step_epochs * self.steps_per_epoch, c.step_gamma)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        return lr

    def train_step(self, x: torch.Tensor, y: torch.Tensor) -> tuple[float, int]:
        """One optimisation step; returns (summed loss, correct count) for the batch."""
        with self.runtime.autocast():
            logits = self.step_model(x)
        loss = F.cross_entropy(logits.float(), y, label_smoothing=self.config.label_smoothing)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        if self.ema is not None:
            self.ema.update(self.step)
        return loss.item() * len(y), (logits.argmax(1) == y).sum().item()

    def _compiling_step(self, x: torch.Tensor, y: torch.Tensor) -> tuple[float, int]:
        """The first compiled step: compilation happens here, so it is timed and reported apart."""
        started = time.perf_counter()
        try:
            result = self.train_step(x, y)
        except (RuntimeError, OSError) as exc:  # dynamo's and inductor's errors are RuntimeErrors
            first = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
            raise ConvzooError(f"--compile failed on this machine ({type(exc).__name__}: {first}); "
                               "train without --compile") from None
        self.compile_seconds = time.perf_counter() - started
        self.runtime.log(f"compile: {self.compile_seconds:.1f} s (first step, included in epoch time)")
        return result

    def train_epoch(self) -> dict:
        self.model.train()
        total_loss, correct, seen = 0.0, 0, 0
        bar = tqdm(self.train_batches, desc=f"epoch {self.epoch + 1}/{self.config.epochs}",
                   disable=not self.runtime.progress, leave=False, unit="batch")
        lr = self._set_lr()
        for x, y in bar:
            lr = self._set_lr()
            first_compiled = self.config.compile and self.compile_seconds is None
            loss, right = (self._compiling_step if first_compiled else self.train_step)(x, y)
            self.step += 1
            total_loss, correct, seen = total_loss + loss, correct + right, seen + len(y)
            bar.set_postfix(loss=f"{total_loss / seen:.3f}", acc=f"{correct / seen:.3f}", refresh=False)
        return {"train_loss": total_loss / max(seen, 1), "train_acc": correct / max(seen, 1), "lr": lr,
                "examples": seen}

    @property
    def eval_model(self) -> torch.nn.Module:
        """The weights that are evaluated and saved for use: the moving average when `ema` is on."""
        return self.ema.model if self.ema is not None else self.model

    def evaluate(self, batches=None, tta: bool = False):
        return evaluate(self.eval_model, batches or self.test_batches, len(self.classes), self.runtime.autocast,
                        self.tta_views if tta else None)

    def fit(self, until_epoch: int | None = None) -> dict:
        """Train to `config.epochs` (or stop after `until_epoch`, as an interrupted run would)."""
        self._prepare_run_dir()
        if self.epoch == 0:
            self.runtime.log(f"training {self.config.model} ({count_parameters(self.model):,} parameters) "
                             f"on {self.data.name}: {len(self.data.train):,} train / {len(self.data.test):,} "
                             f"test, {self.runtime.precision}, {torch.get_num_threads()} threads")
            for note in self.data.notes:
                self.runtime.log(f"note: {note}")
        stop = min(until_epoch or self.config.epochs, self.config.epochs)
        evaluation = None
        while self.epoch < stop:
            started, compiled_before = time.perf_counter(), self.compile_seconds
            row = {"epoch": self.epoch + 1, **self.train_epoch()}
            train_seconds = time.perf_counter() - started
            if self.compile_seconds is not None and compiled_before is None:
                row["compile_seconds"] = self.compile_seconds
                train_seconds -= self.compile_seconds  # the rate is the compiled steps' rate
            if self.val_batches is not None:
                val = self.evaluate(self.val_batches)
                row.update(val_loss=val.loss, val_acc=val.accuracy)
            if self.config.tta and self.epoch + 1 == self.config.epochs:
                # Only at the end: each view is one more pass over the test set (up to 6; docs/speed.md).
                plain, evaluation = evaluate_plain_and_tta(self.eval_model, self.test_batches, len(self.classes),
                                                           self.runtime.autocast, self.tta_views)
                row.update(test_loss=plain.loss, test_acc=plain.accuracy,
                           tta_test_loss=evaluation.loss, tta_test_acc=evaluation.accuracy)
            else:
                evaluation = self.evaluate()
                row.update(test_loss=evaluation.loss, test_acc=evaluation.accuracy)
            row.update(seconds=time.perf_counter() - started,
                       examples_per_sec=row.pop("examples") / max(train_seconds, 1e-9))
            self.epoch += 1
            self.history.append(row)
            self.runtime.log(self._format_row(row))
            self._save(evaluation)
        if evaluation is None:
            evaluation = self.evaluate(tta=self.config.tta and self.epoch == self.config.epochs)
        return {"run_dir": str(self.run_dir), "checkpoint": str(self.run_dir / CHECKPOINT_NAME),
                "epochs": self.epoch, "test_acc": evaluation.accuracy, "test_loss": evaluation.loss,
                "seconds": sum(r["seconds"] for r in self.history), "evaluation": evaluation}

    @staticmethod
    def _format_row(row: dict) -> str:
        val = f"  val {row['val_loss']:.4f}/{row['val_acc']:.4f}" if "val_acc" in row else ""
        tta = f"  tta {row['tta_test_loss']:.4f}/{row['tta_test_acc']:.4f}" if "tta_test_acc" in row else ""
        return (f"epoch {row['epoch']:3d}  train {row['train_loss']:.4f}/{row['train_acc']:.4f}{val}  "
                f"test {row['test_loss']:.4f}/{row['test_acc']:.4f}{tta}  lr {row['lr']:.4g}  "
                f"{row['examples_per_sec']:,.0f} ex/s  {row['seconds']:.1f}s")

    # ---- persistence -------------------------------------------------------------------
    def state(self) -> dict:
        # `state_dict` holds the weights that were evaluated (so `convzoo eval` reproduces the run's
        # accuracy); with EMA on, the optimised weights that resume needs are `train_state_dict`.
        extra = {"train_state_dict": _cpu_state(self.model)} if self.ema is not None else {}
        return {
            "model": self.model.convzoo_spec,
            "state_dict": _cpu_state(self.eval_model), **extra,
            "config": self.config.to_dict(),
            "data": self.data.describe(),
            "setup": dataclasses.asdict(self.setup),
            "epoch": self.epoch, "step": self.step, "history": self.history,
            "optimizer": self.optimizer.state_dict(),
            "rng": {"torch": torch.get_rng_state(), "data": self.generator.get_state()},
        }

    def _save(self, evaluation) -> None:
        if not self.runtime.is_main:
            return
        save_checkpoint(self.run_dir / CHECKPOINT_NAME, self.state())
        write_text(self.run_dir / "metrics.jsonl", "".join(_json_line(r) for r in self.history))
        write_json(self.run_dir / "eval.json", {"epoch": self.epoch, **evaluation.to_dict(self.classes)})
        plot_curves({self.config.model: self.history}, self.run_dir / "curves.png")

    @classmethod
    def resume(cls, run: str | Path, epochs: int | None = None, **overrides) -> Trainer:
        """Continue the run saved in `run` (a run directory or checkpoint file)."""
        payload = load_checkpoint(run)
        if "optimizer" not in payload or "config" not in payload:
            raise ConvzooError(f"{run} holds weights only (an export or pretrained model) and cannot be "
                               "resumed; start a new run")
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
        for key, value in overrides.items():
            setattr(config, key, value)
        trainer = cls(config)
        trainer.model.load_state_dict(payload.get("train_state_dict", payload["state_dict"]))
        if trainer.ema is not None:
            trainer.ema.model.load_state_dict(payload["state_dict"])
        trainer.optimizer.load_state_dict(payload["optimizer"])
        trainer.epoch, trainer.step, trainer.history = payload["epoch"], payload["step"], payload["history"]
        torch.set_rng_state(payload["rng"]["torch"])
        trainer.generator.set_state(payload["rng"]["data"])
        return trainer


def _cpu_state(model: torch.nn.Module) -> dict:
    return {k: v.detach().cpu() for k, v in model.state_dict().items()}


def _json_line(row: dict) -> str:
    return json.dumps(row) + "\n"
