"""The Trainer: data -> model -> train -> evaluate -> checkpoint, configured by a TrainConfig.

Any model, any in-memory data, either task: `Trainer(config)` builds a registry model from the
config; `Trainer(config, model=my_module, data=my_bundle)` trains your own nn.Module with the same
features (resume, checkpoints, curves, EMA, TTA, reports). The task follows the data: class labels
(N,) train a classifier, masks (N, H, W) a segmentation model (train/tasks.py).

The steps, in order: `prepare()` loads the data and builds the model; `choose_setup()` (called by
prepare) picks precision and memory format, measured on CPUs (train/tune.py); `fit()` is the loop.
The parts live apart: building and checking the model (train/modelsetup.py), the batches and TTA
views (train/loaders.py), the optimiser and EMA (train/optim.py), the run directory, checkpoint
and `resume` (train/rundir.py); this file is the set-up order and the loop.
Device, rank, precision and logging come from `Runtime`; batches from `BatchLoader`; all randomness
from seeded generators that the checkpoint saves, so `resume` continues exactly. Under torchrun
the model is wrapped in DistributedDataParallel and each process takes its share of every global
batch (train/distributed.py); only rank 0 writes.
Options for speed and accuracy (docs/speed.md, docs/speedrun.md): `compile` (torch.compile of the
training forward/backward, its first step timed apart), `ema` (evaluate an exponential moving
average of the weights), `tta` (the final test evaluation averages flipped and shifted views),
`progressive` (smaller images in the early epochs), `optimizer="muon"` (train/optim.py), and a
model's `fit_to_data` (fastnet's whitened stem), called once on a sample of the training images.
`fit(on_step=f, on_step_every=K)` calls `f(trainer)` after every K-th optimiser step (to log a
curve against wall clock, say: `convzoo bench race`); without it nothing changes (docs/training.md).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from ..data import DataBundle, load_dataset
from ..data.sampling import with_train_size
from ..errors import ConvzooError
from ..models import count_parameters
from ..progress import tqdm
from . import distributed
from .checkpoint import CHECKPOINT_NAME
from .config import TrainConfig
from .loaders import make_batches, resize_batch, with_normalization
from .metrics import evaluate, evaluate_plain_and_tta, format_epoch
from .modelsetup import ModelSetup
from .optim import WeightEMA, build_optimizer
from .rundir import RunDirectory
from .runtime import Runtime, seed_everything
from .schedule import LECUN98_PASS, lr_factor
from .tasks import task_of_targets


class Trainer(ModelSetup, RunDirectory):
    def __init__(self, config: TrainConfig, data: DataBundle | None = None, runtime: Runtime | None = None,
                 model: nn.Module | None = None):
        """Nothing heavy happens here: `prepare()` (or `fit()`) loads the data and builds the model."""
        self.config = config
        self.data = data
        self.runtime = runtime
        self.user_model = model
        self.model: nn.Module | None = None
        self.epoch = 0
        self.step = 0
        self.history: list[dict] = []
        self.compile_seconds: float | None = None
        self.hook_seconds = 0.0  # this epoch's time inside fit's `on_step` hook
        self.run_dir = Path(config.out) if config.out else None
        self.prepared = False

    # ---- set-up ------------------------------------------------------------------------
    def prepare(self) -> Trainer:
        """Load the data, build the model, choose the setup, and make the optimizer and loaders."""
        if self.prepared:
            return self
        config = self.config
        self._check_out()  # before anything slow: a bad --out costs no data loading or timing
        self.runtime = self.runtime or Runtime.create(config.precision, config.threads, config.progress,
                                                      config.device, config.dist_timeout)
        runtime = self.runtime
        seed_everything(config.seed, config.deterministic)
        if self.data is None:
            self.data = load_dataset(config.data, config.data_dir, val_split=config.val_split,
                                     test_holdout=config.test_holdout, seed=config.seed)
        self.data = with_normalization(with_train_size(self.data, config.train_size, config.seed), config.normalize)
        train = self.data.train
        self.classes = train.classes
        self.task = task_of_targets(train.labels, config.aux_weight, len(self.classes), config.class_balance,
                                    config.loss)
        if self.task.class_weights is not None:
            runtime.log(f"note: class-balanced loss (--class-balance {config.class_balance:g}): weights "
                        + ", ".join(f"{c} {w:.2f}" for c, w in zip(self.classes, self.task.class_weights)))
        if config.batch_size > len(train):
            runtime.log(f"note: --batch-size {config.batch_size} is more than the {len(train):,} training examples: "
                        f"one step of {len(train):,} per epoch")
        if config.batch_size < runtime.world_size:
            raise ConvzooError(f"--batch-size {config.batch_size} is the global batch: it needs at least one "
                               f"example for each of the {runtime.world_size} processes")
        self.model = self._build_model()
        self._fit_first_layer()
        self._check_fit()
        self.setup = self.choose_setup()
        runtime.precision = self.setup.precision
        memory_format = torch.channels_last if self.setup.channels_last else torch.contiguous_format
        self.model.to(runtime.device, memory_format=memory_format)
        if config.sync_bn and runtime.world_size > 1:
            self.model = distributed.convert_sync_batchnorm(self.model, runtime.device)
        self.optimizer = build_optimizer(self.model, config)
        self.scaler = runtime.grad_scaler()
        self.ema = WeightEMA(self.model, config.ema) if config.ema else None
        step_model = self.model
        if runtime.world_size > 1:
            step_model = nn.parallel.DistributedDataParallel(
                self.model, device_ids=[runtime.device] if runtime.device.type == "cuda" else None)
            if runtime.rank:  # dropout and other in-model randomness: a stream of its own per rank
                torch.manual_seed(config.seed + 1_000_003 * runtime.rank)
        # The compiled module shares the model's parameters; checkpoints keep the plain model's keys.
        self.step_model = torch.compile(step_model) if config.compile else step_model
        self._make_loaders(train)
        self.steps_per_epoch = len(self.train_batches)
        self.total_steps = self.steps_per_epoch * config.epochs
        self.prepared = True
        return self

    def _make_loaders(self, train) -> None:
        self.generator = torch.Generator().manual_seed(self.config.seed)
        batches = make_batches(self.config, self.runtime, self.data, self.task.name, self.setup.channels_last,
                               self.generator)
        self.train_batches, self.test_batches = batches.train, batches.test
        self.val_batches, self.tta_views = batches.val, batches.tta_views

    # ---- training ----------------------------------------------------------------------
    def _warmup_steps(self) -> int:
        epochs = self.config.warmup_epochs
        if self.config.schedule == "onecycle" and not epochs:
            epochs = 0.3 * self.config.epochs
        return round(epochs * self.steps_per_epoch)

    def _set_lr(self) -> float:
        c = self.config
        per_epoch = self.steps_per_epoch  # lecun98 steps down by the paper's passes of 60,000 digits
        if c.schedule == "lecun98":
            per_epoch = LECUN98_PASS / c.batch_size  # the global batch
        lr = c.lr * lr_factor(c.schedule, self.step, self.total_steps, self._warmup_steps(),
                              c.step_epochs * self.steps_per_epoch, c.step_gamma, per_epoch)
        for group in self.optimizer.param_groups:
            group["lr"] = lr * group.get("lr_ratio", 1.0)  # Muon's group has a peak of its own
        return lr

    def train_step(self, x: torch.Tensor, y: torch.Tensor, global_count: int | None = None) -> torch.Tensor:
        """One optimisation step on this process's share `x, y` of a global batch of `global_count`
        examples. Returns (summed main loss, correct predictions, predictions) as one tensor on the
        device, so nothing waits for the device until the epoch's end."""
        predictions_per_example = y[0].numel() if y.ndim > 1 else 1
        global_predictions = (global_count or len(y)) * predictions_per_example
        with self.runtime.autocast():
            outputs = self.step_model(x)
        total, main_loss, logits = self.task.loss_sum(outputs, y, self.config.label_smoothing)
        # DDP averages gradients over processes: scaling by world / global count makes the step the
        # mean over the global batch, however unevenly the last batch splits.
        loss = total * (self.runtime.world_size / global_predictions)
        self.optimizer.zero_grad(set_to_none=True)
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            loss.backward()
            self.optimizer.step()
        if self.ema is not None:
            self.ema.update(self.step)
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

    def train_epoch(self, on_step: Callable[[Trainer], None] | None = None, on_step_every: int = 1) -> dict:
        """One pass over the training batches; `on_step` as in `fit`."""
        self.model.train()
        self.hook_seconds = 0.0
        sums = torch.zeros(3, dtype=torch.float64, device=self.runtime.device)  # loss, correct, predictions
        bar = tqdm(self.train_batches.batches(), total=len(self.train_batches), leave=False, unit="batch",
                   desc=f"epoch {self.epoch + 1}/{self.config.epochs}", disable=not self.runtime.progress)
        lr = self._set_lr()
        if hasattr(self.optimizer, "estimate_curvature"):  # SDLM: second derivatives before each pass
            self.optimizer.estimate_curvature(self._curvature_sample())
        size = self.epoch_image_size()
        for x, y, global_count in bar:
            lr = self._set_lr()
            if size is not None:
                x = resize_batch(x, size)
            first_compiled = self.config.compile and self.compile_seconds is None
            sums += (self._compiling_step if first_compiled else self.train_step)(x, y, global_count)
            self.step += 1
            if on_step is not None and self.step % on_step_every == 0:
                self._call_hook(on_step)
        loss, correct, predictions = distributed.all_reduce_sum(sums).tolist()  # one sync per epoch
        if not math.isfinite(loss):
            raise ConvzooError(f"training diverged: the loss is {loss} in epoch {self.epoch + 1} (try a lower --lr); "
                               + (f"{self.run_dir / CHECKPOINT_NAME} keeps epoch {self.epoch}" if self.epoch
                                  else "nothing was saved"))
        per_example = math.prod(self.data.train.labels.shape[1:])  # 1, or the pixels of a mask
        return {"train_loss": loss / max(predictions, 1), "train_acc": correct / max(predictions, 1), "lr": lr,
                "examples": predictions / per_example}

    def _curvature_sample(self) -> torch.Tensor:
        """`sdlm_samples` training images (unaugmented), drawn by a generator of the seed and the epoch,
        so a resumed run draws the same ones."""
        loader = self.train_batches
        generator = torch.Generator().manual_seed(self.config.seed * 100_003 + self.epoch)
        index = torch.randperm(len(loader.images), generator=generator)[:self.config.sdlm_samples]
        return loader.normalize(loader.images[index.to(loader.images.device)])

    def epoch_image_size(self, epoch: int | None = None) -> tuple[int, int] | None:
        """The (height, width) this epoch trains on under `progressive`, or None for full size."""
        start, epochs = self.config.progressive, self.config.epochs
        epoch = self.epoch if epoch is None else epoch
        scale = start + (1 - start) * epoch / (epochs - 1) if start and epochs > 1 else 1.0
        if scale >= 1:
            return None
        return tuple(max(round(side * scale), 1) for side in self.data.train.shape[1:])

    def _call_hook(self, on_step: Callable[[Trainer], None]) -> None:
        """Run a per-step hook so that it cannot change the run: its random numbers come from a forked
        stream, and the model is put back in training mode (a hook may evaluate). Its time is kept
        apart, so the epoch's examples/s stay the training rate."""
        started = time.perf_counter()
        devices = [self.runtime.device] if self.runtime.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            on_step(self)
        self.model.train()
        self.hook_seconds += time.perf_counter() - started

    @property
    def eval_model(self) -> torch.nn.Module:
        """The weights that are evaluated and saved for use: the moving average when `ema` is on."""
        return self.ema.model if self.ema is not None else self.model

    def evaluate(self, batches=None, tta: bool = False):
        self.prepare()
        return evaluate(self.eval_model, batches or self.test_batches, len(self.classes), self.runtime.autocast,
                        self.tta_views if tta else None, task=self.task, reduce=distributed.all_reduce_sum)

    def fit(self, until_epoch: int | None = None, *, on_step: Callable[[Trainer], None] | None = None,
            on_step_every: int = 1) -> dict:
        """Train to `config.epochs` (or stop after `until_epoch`, as an interrupted run would).

        `on_step(trainer)`, if given, is called after every `on_step_every`-th optimiser step (counted
        over the whole run, `trainer.step`), on every process under DDP. It may evaluate
        (`trainer.evaluate(...)`): the run continues exactly as it would have without it (same
        weights, metrics and checkpoints), apart from the epoch's wall-clock `seconds`, which
        include the hook's time (its examples/s do not)."""
        if on_step_every < 1:
            raise ValueError(f"on_step_every must be at least 1, not {on_step_every}")
        self.prepare()
        self._prepare_run_dir()
        if self.epoch == 0:
            world = f", {self.runtime.world_size} processes" if self.runtime.world_size > 1 else ""
            self.runtime.log(f"training {self.model_name} ({count_parameters(self.model):,} parameters) "
                             f"on {self.data.name} ({self.task.name}): {len(self.data.train):,} train / "
                             f"{len(self.data.test):,} test, {self.runtime.precision}, {self.runtime.device.type}, "
                             f"{torch.get_num_threads()} threads{world}")
            for note in self.data.notes:
                self.runtime.log(f"note: {note}")
            for key, value in self.model_kwargs.items():
                if key not in self.config.model_kwargs:
                    self.runtime.log(f"note: {self.config.model} trains with {key}={value}, as in its paper "
                                     f"(--model-arg {key}=... to change it)")
        stop = min(until_epoch or self.config.epochs, self.config.epochs)
        evaluation = None
        while self.epoch < stop:
            started, compiled_before = time.perf_counter(), self.compile_seconds
            row = {"epoch": self.epoch + 1, **self.train_epoch(on_step, on_step_every)}
            train_seconds = time.perf_counter() - started - self.hook_seconds
            if self.compile_seconds is not None and compiled_before is None:
                row["compile_seconds"] = self.compile_seconds
                train_seconds -= self.compile_seconds  # the rate is the compiled steps' rate
            if self.val_batches is not None:
                row.update(_metrics("val", self.evaluate(self.val_batches)))
            if self.config.tta and self.epoch + 1 == self.config.epochs:
                # Only at the end: each view is one more pass over the test set (up to 6; docs/speed.md).
                plain, evaluation = evaluate_plain_and_tta(
                    self.eval_model, self.test_batches, len(self.classes), self.runtime.autocast, self.tta_views,
                    task=self.task, reduce=distributed.all_reduce_sum)
                row.update(_metrics("test", plain))
                row.update(_metrics("tta_test", evaluation))
            else:
                evaluation = self.evaluate()
                row.update(_metrics("test", evaluation))
            row.update(seconds=time.perf_counter() - started,
                       examples_per_sec=row.pop("examples") / max(train_seconds, 1e-9))
            self.epoch += 1
            self.history.append(row)
            self.runtime.log(format_epoch(row))
            self._save(evaluation)
        if evaluation is None:
            evaluation = self.evaluate(tta=self.config.tta and self.epoch == self.config.epochs)
        return {"run_dir": str(self.run_dir), "checkpoint": str(self.run_dir / CHECKPOINT_NAME),
                "task": self.task.name, "epochs": self.epoch, "test_acc": evaluation.accuracy,
                "test_loss": evaluation.loss, **({"test_miou": evaluation.mean_iou}
                                                 if self.task.name == "segmentation" else {}),
                "seconds": sum(r["seconds"] for r in self.history), "evaluation": evaluation}



def _metrics(prefix: str, evaluation) -> dict:
    row = {f"{prefix}_loss": evaluation.loss, f"{prefix}_acc": evaluation.accuracy}
    if evaluation.task == "segmentation":
        row[f"{prefix}_miou"] = evaluation.mean_iou
    return row


