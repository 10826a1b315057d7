"""One epoch of training steps: the learning-rate schedule, the progress bar, progressive image
sizes, SDLM's curvature estimate, the first compiled step timed apart, and a per-step callback that
cannot change the run.

`TrainLoop(config, runtime, task, trained, batches, train_set, position)` steps `trained` (a
`TrainingModel`) over `batches` and advances `position.step`; the Trainer owns the position (a
checkpoint saves it) and reads the epoch's row that `run_epoch` returns.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from ..data import ArrayDataset, BatchLoader
from ..errors import ConvzooError
from ..progress import tqdm
from . import distributed
from .config import TrainConfig
from .loaders import resize_batch
from .modelsetup import TrainingModel
from .runtime import Runtime
from .schedule import lr_factor, progressive_size
from .tasks import Task


@dataclass
class Position:
    """How far a run has come: epochs finished and optimiser steps taken (both saved and resumed)."""
    epoch: int = 0
    step: int = 0


class TrainLoop:
    def __init__(self, config: TrainConfig, runtime: Runtime, task: Task, trained: TrainingModel,
                 batches: BatchLoader, train_set: ArrayDataset, position: Position):
        self.config, self.runtime, self.task, self.trained = config, runtime, task, trained
        self.batches, self.train_set, self.position = batches, train_set, position
        self.steps_per_epoch = len(batches)
        self.total_steps = self.steps_per_epoch * config.epochs
        self.compile_seconds: float | None = None  # the first compiled step's time, once it ran
        self.hook_seconds = 0.0  # this epoch's time inside the per-step callback

    def image_size(self, epoch: int) -> tuple[int, int] | None:
        """The (height, width) `epoch` trains on under `progressive`, or None for full size."""
        return progressive_size(self.config.progressive, self.config.epochs, epoch, self.train_set.shape[1:])

    def _warmup_steps(self) -> int:
        epochs = self.config.warmup_epochs
        if self.config.schedule == "onecycle" and not epochs:
            epochs = 0.3 * self.config.epochs
        return round(epochs * self.steps_per_epoch)

    def _set_lr(self) -> float:
        c = self.config
        lr = c.lr * lr_factor(c.schedule, self.position.step, self.total_steps, self._warmup_steps(),
                              c.step_epochs * self.steps_per_epoch, c.step_gamma, c.batch_size,  # the global batch
                              c.schedule_pass)
        for group in self.trained.optimizer.param_groups:
            group["lr"] = lr * group.get("lr_ratio", 1.0)  # Muon's group has a peak of its own
        return lr

    def train_step(self, x: torch.Tensor, y: torch.Tensor, global_count: int | None = None) -> torch.Tensor:
        """One optimisation step on this process's share `x, y` of a global batch of `global_count`
        examples. Returns (summed main loss, correct predictions, predictions) as one tensor on the
        device, so nothing waits for the device until the epoch's end."""
        trained = self.trained
        predictions_per_example = y[0].numel() if y.ndim > 1 else 1
        global_predictions = (global_count or len(y)) * predictions_per_example
        with self.runtime.autocast():
            outputs = trained.step_model(x)
        total, main_loss, logits = self.task.loss_sum(outputs, y, self.config.label_smoothing)
        # DDP averages gradients over processes: scaling by world / global count makes the step the
        # mean over the global batch, however unevenly the last batch splits.
        loss = total * (self.runtime.world_size / global_predictions)
        trained.optimizer.zero_grad(set_to_none=True)
        if trained.scaler is not None:
            trained.scaler.scale(loss).backward()
            trained.scaler.step(trained.optimizer)
            trained.scaler.update()
        else:
            loss.backward()
            trained.optimizer.step()
        if trained.ema is not None:
            trained.ema.update(self.position.step)
        correct = (logits.detach().argmax(1) == y).sum()
        return torch.stack([main_loss.detach().double(), correct.double(),
                            torch.tensor(y.numel(), dtype=torch.float64, device=y.device)])

    def _compiling_step(self, *batch) -> torch.Tensor:
        """The first compiled step: compilation happens here, so it is timed and reported apart."""
        started = time.perf_counter()
        try:
            result = self.train_step(*batch)
        except (RuntimeError, OSError) as exc:  # dynamo's and inductor's errors are RuntimeErrors
            first = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
            raise ConvzooError(f"--compile failed on this machine ({type(exc).__name__}: {first}); "
                               "train without --compile") from None
        self.compile_seconds = time.perf_counter() - started
        self.runtime.log(f"compile: {self.compile_seconds:.1f} s (first step, included in epoch time)")
        return result

    def run_epoch(self, on_step: Callable[[], None] | None = None, on_step_every: int = 1) -> dict:
        """One pass over the training batches, calling `on_step()` after every `on_step_every`-th
        optimiser step (counted over the whole run). Returns the epoch's train_loss, train_acc, lr and
        examples (a non-finite train_loss is the caller's to report)."""
        self.trained.model.train()
        self.hook_seconds = 0.0
        sums = torch.zeros(3, dtype=torch.float64, device=self.runtime.device)  # loss, correct, predictions
        epoch = self.position.epoch
        bar = tqdm(self.batches.batches(), total=len(self.batches), leave=False, unit="batch",
                   desc=f"epoch {epoch + 1}/{self.config.epochs}", disable=not self.runtime.progress)
        lr = self._set_lr()
        if hasattr(self.trained.optimizer, "estimate_curvature"):  # SDLM: second derivatives before each pass
            self.trained.optimizer.estimate_curvature(self._curvature_sample())
        size = self.image_size(epoch)
        for x, y, global_count in bar:
            lr = self._set_lr()
            if size is not None:
                x = resize_batch(x, size)
            first_compiled = self.config.compile and self.compile_seconds is None
            sums += (self._compiling_step if first_compiled else self.train_step)(x, y, global_count)
            self.position.step += 1
            if on_step is not None and self.position.step % on_step_every == 0:
                self._call_hook(on_step)
        loss, correct, predictions = distributed.all_reduce_sum(sums).tolist()  # one sync per epoch
        per_example = math.prod(self.train_set.labels.shape[1:])  # 1, or the pixels of a mask
        return {"train_loss": loss / max(predictions, 1), "train_acc": correct / max(predictions, 1), "lr": lr,
                "examples": predictions / per_example}

    def _curvature_sample(self) -> torch.Tensor:
        """`sdlm_samples` training images (unaugmented), drawn by a generator of the seed and the epoch,
        so a resumed run draws the same ones."""
        loader = self.batches
        generator = torch.Generator().manual_seed(self.config.seed * 100_003 + self.position.epoch)
        index = torch.randperm(len(loader.images), generator=generator)[:self.config.sdlm_samples]
        return loader.normalize(loader.images[index.to(loader.images.device)])

    def _call_hook(self, on_step: Callable[[], None]) -> None:
        """Run a per-step hook so that it cannot change the run: its random numbers come from a forked
        stream, and the model is put back in training mode (a hook may evaluate). Its time is kept
        apart, so the epoch's examples/s stay the training rate."""
        started = time.perf_counter()
        devices = [self.runtime.device] if self.runtime.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            on_step()
        self.trained.model.train()
        self.hook_seconds += time.perf_counter() - started
