"""The Trainer: data -> model -> train -> evaluate -> checkpoint, configured by a TrainConfig.

Any model, any in-memory data, either task: `Trainer(config)` builds a registry model from the
config; `Trainer(config, model=my_module, data=my_bundle)` trains your own nn.Module with the same
features (resume, checkpoints, curves, EMA, TTA, reports). The task follows the data: class labels
(N,) train a classifier, masks (N, H, W) a segmentation model (train/tasks.py).

The steps, in order: `prepare()` loads the data and builds the model; `choose_setup()` (called by
prepare) picks precision and memory format, measured on CPUs (train/tune.py); `fit()` is the loop.
Device, rank, precision and logging come from `Runtime`; batches from `BatchLoader`; all randomness
from seeded generators that the checkpoint saves, so `resume` continues exactly. Under torchrun
the model is wrapped in DistributedDataParallel and each process takes its share of every global
batch (train/distributed.py); only rank 0 writes.
Options for speed and accuracy (docs/speed.md): `compile` (torch.compile of the training
forward/backward, its first step timed apart), `ema` (evaluate an exponential moving average of
the weights) and `tta` (the final test evaluation averages flipped and shifted views).
`fit(on_step=f, on_step_every=K)` calls `f(trainer)` after every K-th optimiser step (to log a
curve against wall clock, say: `convzoo bench race`); without it nothing changes (docs/training.md).
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import hashlib
import json
import math
import platform
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from ..atomic import write_json, write_text
from ..data import Augment, BatchLoader, DataBundle, Normalizer, load_dataset
from ..data.sampling import with_train_size
from ..errors import ConvzooError
from ..models import count_parameters, create_model, model_info
from . import distributed
from .checkpoint import CHECKPOINT_NAME, custom_model_spec, load_checkpoint, save_checkpoint
from .config import TrainConfig
from .curves import plot_curves
from .metrics import evaluate, evaluate_plain_and_tta, tta_views
from .runtime import Runtime, cpu_has_fast_bf16, seed_everything
from .schedule import lr_factor
from .tasks import check_fit, task_of_targets
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
    @property
    def model_name(self) -> str:
        return self.config.model if self.user_model is None else type(self.user_model).__name__

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
        self.data = with_train_size(self.data, config.train_size, config.seed)
        train = self.data.train
        self.classes = train.classes
        self.task = task_of_targets(train.labels, config.aux_weight)
        if config.batch_size > len(train):
            runtime.log(f"note: --batch-size {config.batch_size} is more than the {len(train):,} training examples: "
                        f"one step of {len(train):,} per epoch")
        if config.batch_size < runtime.world_size:
            raise ConvzooError(f"--batch-size {config.batch_size} is the global batch: it needs at least one "
                               f"example for each of the {runtime.world_size} processes")
        self.model = self._build_model()
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

    def _build_model(self) -> nn.Module:
        if self.user_model is not None:
            if not hasattr(self.user_model, "convzoo_spec"):
                self.user_model.convzoo_spec = custom_model_spec(self.user_model)
            return self.user_model
        return self._builder()()

    def _builder(self):
        """A function that builds a fresh copy of the model (the setup is timed on fresh copies)."""
        if self.user_model is not None:
            return functools.partial(copy.deepcopy, self.user_model)
        channels, height, width = self.data.train.shape
        return functools.partial(create_model, self.config.model, num_classes=len(self.classes),
                                 in_channels=channels, input_size=(height, width), **self.model_kwargs)

    @property
    def model_kwargs(self) -> dict:
        """The builder options: the config's, over those the registry entry trains with (GoogLeNet's
        auxiliary classifiers)."""
        if self.user_model is not None:
            return {}
        return {**model_info(self.config.model).train_options, **self.config.model_kwargs}

    def _check_fit(self) -> None:
        """A forward pass on two training examples: the model's output must fit the task's targets."""
        train = self.data.train
        sample = Normalizer(train.mean, train.std)(train.images[:2])
        was_training = self.model.training
        with torch.random.fork_rng(devices=[]), torch.inference_mode():
            outputs = self.model.eval()(sample)
        self.model.train(was_training)
        check_fit(self.model_name, outputs, self.data.name, self.task, len(self.classes), tuple(train.labels.shape[1:]))

    def choose_setup(self) -> Setup:
        """Resolve `auto` precision and layout: measured on CPUs (train/tune.py) by rank 0 and sent to
        every process, a rule on GPUs."""
        config, runtime = self.config, self.runtime
        if runtime.device.type != "cpu":
            return Setup(runtime.precision, config.channels_last is not False)
        setups = candidate_setups(config.precision, config.channels_last, cpu_has_fast_bf16())
        setup = None
        if runtime.is_main:
            # The printed architecture is in the key, so a model whose layers change is measured anew.
            key = {"model": self.model_name,
                   "architecture": hashlib.sha256(repr(self.model).encode()).hexdigest()[:16]}
            local_batch = math.ceil(config.batch_size / runtime.world_size)
            with torch.random.fork_rng(devices=[]):  # measuring must not move the run's random stream
                setup = fastest_setup(key, self._builder(), self.data.train.shape, len(self.classes), local_batch,
                                      setups, log=runtime.log, task=self.task)
        return distributed.broadcast(setup)

    def _make_loaders(self, train) -> None:
        config, runtime = self.config, self.runtime
        self.generator = torch.Generator().manual_seed(config.seed)
        try:
            augment = Augment.parse(config.augment, flippable=train.flippable)
        except ValueError as exc:
            raise ConvzooError(str(exc)) from None
        if augment.translate and 2 * augment.translate >= min(train.shape[1:]):
            raise ConvzooError(f"--augment {config.augment}: a shift of {augment.translate} pixels is not smaller "
                               f"than half the {train.shape[1]}x{train.shape[2]} image")
        shards = {"rank": runtime.rank, "world_size": runtime.world_size}
        loader_args = {"device": runtime.device, "channels_last": self.setup.channels_last, **shards}
        self.train_batches = BatchLoader(
            train, config.batch_size, shuffle=True, augment=augment, drop_last=len(train) > config.batch_size,
            generator=self.generator, **loader_args)
        eval_size = max(config.batch_size // runtime.world_size, 512 if self.task.name == "classification" else 64)
        self.test_batches = BatchLoader(self.data.test, eval_size, **loader_args)
        self.val_batches = BatchLoader(self.data.val, eval_size, **loader_args) if self.data.val else None
        # TTA shows the views training showed (a view the model never saw costs accuracy); without
        # augmentation, the mirror image where it keeps the label. A mask is mirrored back.
        flip = augment.flip or (not augment and train.flippable)
        if self.task.name == "segmentation":
            self.tta_views = functools.partial(_mirror_views, flip=flip)
        else:
            self.tta_views = functools.partial(tta_views, flip=flip, shift=1 if augment.translate else 0,
                                               fill=self.test_batches.normalize.shift)

    # ---- the run directory -------------------------------------------------------------
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
        write_json(self.run_dir / "config.json", {
            "config": self.config.to_dict(), "model": self.model.convzoo_spec, "task": self.task.name,
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
        for x, y, global_count in bar:
            lr = self._set_lr()
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
            self.runtime.log(self._format_row(row))
            self._save(evaluation)
        if evaluation is None:
            evaluation = self.evaluate(tta=self.config.tta and self.epoch == self.config.epochs)
        return {"run_dir": str(self.run_dir), "checkpoint": str(self.run_dir / CHECKPOINT_NAME),
                "task": self.task.name, "epochs": self.epoch, "test_acc": evaluation.accuracy,
                "test_loss": evaluation.loss, **({"test_miou": evaluation.mean_iou}
                                                 if self.task.name == "segmentation" else {}),
                "seconds": sum(r["seconds"] for r in self.history), "evaluation": evaluation}

    @staticmethod
    def _format_row(row: dict) -> str:
        def part(prefix, label):
            if f"{prefix}_acc" not in row:
                return ""
            miou = f" miou {row[f'{prefix}_miou']:.4f}" if f"{prefix}_miou" in row else ""
            return f"  {label} {row[f'{prefix}_loss']:.4f}/{row[f'{prefix}_acc']:.4f}{miou}"

        return (f"epoch {row['epoch']:3d}  train {row['train_loss']:.4f}/{row['train_acc']:.4f}{part('val', 'val')}"
                f"{part('test', 'test')}{part('tta_test', 'tta')}  lr {row['lr']:.4g}  "
                f"{row['examples_per_sec']:,.0f} ex/s  {row['seconds']:.1f}s")

    # ---- persistence -------------------------------------------------------------------
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
               data: DataBundle | None = None, **overrides) -> Trainer:
        """Continue the run saved in `run` (a run directory or checkpoint file). A run of a custom
        model needs that model again (`model=`), built as it was; `overrides` may set the config
        fields a resumed run may change (TrainConfig's `resume` fields)."""
        payload = load_checkpoint(run)
        if "optimizer" not in payload or "config" not in payload:
            raise ConvzooError(f"{run} holds weights only (an export or pretrained model) and cannot be "
                               "resumed; start a new run")
        if payload["model"].get("custom") and model is None:
            raise ConvzooError(f"{run} was trained with a custom model ({payload['model']['class']}); resume it "
                               "from Python with Trainer.resume(run, model=...)")
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


def _mirror_views(x: torch.Tensor, *, flip: bool) -> list:
    """Segmentation TTA: the image and, where it keeps the labels, its mirror image, whose predicted
    mask is mirrored back before averaging."""
    return [x, (x.flip(-1), lambda out: out.flip(-1))] if flip else [x]


def _metrics(prefix: str, evaluation) -> dict:
    row = {f"{prefix}_loss": evaluation.loss, f"{prefix}_acc": evaluation.accuracy}
    if evaluation.task == "segmentation":
        row[f"{prefix}_miou"] = evaluation.mean_iou
    return row


def _cpu_state(model: torch.nn.Module) -> dict:
    return {k: v.detach().cpu() for k, v in model.state_dict().items()}


def _json_line(row: dict) -> str:
    return json.dumps(row) + "\n"
