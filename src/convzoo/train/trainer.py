"""The Trainer: data -> model -> train -> evaluate -> checkpoint, configured by a TrainConfig.

Any model, any in-memory data, either task: `Trainer(config)` builds a registry model from the
config; `Trainer(config, model=my_module, data=my_bundle)` trains your own nn.Module with the same
features (resume, checkpoints, curves, EMA, TTA, reports). The task follows the data: class labels
(N,) train a classifier, masks (N, H, W) a segmentation model (train/tasks.py).

The steps, in order: `prepare()` loads the data and makes the parts; `fit()` is the loop over
epochs. The Trainer owns its parts, each told what it needs when it is made:
- `run_directory` (train/rundir.py): names, checks and writes the run folder (made in __init__);
- `model_setup` (train/modelsetup.py): builds and checks the model, chooses precision and layout
  (measured on CPUs, train/tune.py), and makes the optimiser, scaler and EMA: a `TrainingModel`;
- the batches and TTA views (train/loaders.py);
- `loop` (train/loop.py): one epoch of steps with its schedule, progress bar and callback;
- `evaluator` (train/evaluation.py): the test, validation and TTA evaluations.
The attributes other code reads (`model`, `optimizer`, `setup`, `train_batches`, `step`, ...) are
the parts', forwarded. Device, rank, precision and logging come from `Runtime`; all randomness
from seeded generators that the checkpoint saves, so `resume` continues exactly. Under torchrun
the model is wrapped in DistributedDataParallel and each process takes its share of every global
batch (train/distributed.py); only rank 0 writes.
Options for speed and accuracy (docs/speed.md, docs/speedrun.md): `compile`, `ema`, `tta`,
`progressive`, `optimizer="muon"` (train/optim.py), and a model's `fit_to_data` (fastnet's whitened
stem), called once on a sample of the training images.
`fit(on_step=f, on_step_every=K)` calls `f(trainer)` after every K-th optimiser step (to log a
curve against wall clock, say: `convzoo bench race`); without it nothing changes (docs/training.md).
"""

from __future__ import annotations

import functools
import math
import platform
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from ..data import DataBundle, load_dataset
from ..data.sampling import with_train_size
from ..errors import ConvzooError
from ..models import count_parameters
from .checkpoint import model_for_payload
from .config import TrainConfig
from .evaluation import Evaluator
from .live import record_run
from .loaders import make_batches, with_normalization
from .loop import Position, TrainLoop
from .metrics import format_epoch
from .modelsetup import ModelSetup, model_kwargs, model_name
from .resume import restore_state, run_state
from .rundir import RunDirectory, default_run_path, resumable_payload, resumed_config
from .runtime import Runtime, seed_everything
from .tasks import task_of_targets


def _forwarded(part: str, name: str, settable: bool = False) -> property:
    """An attribute of the Trainer that one of its parts holds (None while that part is not made)."""
    def get(self):
        owner = getattr(self, part)
        return None if owner is None else getattr(owner, name)

    def set_(self, value):
        setattr(getattr(self, part), name, value)

    return property(get, set_ if settable else None, doc=f"`{part}.{name}`")


class Trainer:
    # What the parts hold, read through the Trainer as other code and the docs use it.
    model = _forwarded("trained", "model")
    step_model = _forwarded("trained", "step_model")
    eval_model = _forwarded("trained", "eval_model")
    setup = _forwarded("trained", "setup")
    optimizer = _forwarded("trained", "optimizer")
    scaler = _forwarded("trained", "scaler")
    ema = _forwarded("trained", "ema")
    train_batches = _forwarded("batches", "train")
    test_batches = _forwarded("batches", "test")
    val_batches = _forwarded("batches", "val")
    tta_views = _forwarded("batches", "tta_views")
    steps_per_epoch = _forwarded("loop", "steps_per_epoch")
    total_steps = _forwarded("loop", "total_steps")
    compile_seconds = _forwarded("loop", "compile_seconds")
    hook_seconds = _forwarded("loop", "hook_seconds")  # this epoch's time inside fit's `on_step` hook
    epoch = _forwarded("position", "epoch", settable=True)
    step = _forwarded("position", "step", settable=True)
    run_dir = _forwarded("run_directory", "path", settable=True)

    def __init__(self, config: TrainConfig, data: DataBundle | None = None, runtime: Runtime | None = None,
                 model: nn.Module | None = None):
        """Nothing heavy happens here: `prepare()` (or `fit()`) loads the data and builds the model."""
        self.config = config
        self.data = data
        self.runtime = runtime
        self.user_model = model
        self.history: list[dict] = []
        self.position = Position()
        self.run_directory = RunDirectory(Path(config.out) if config.out else None)
        self.model_setup: ModelSetup | None = None
        self.trained = self.batches = self.loop = self.evaluator = None  # made by prepare()

    @property
    def model_name(self) -> str:
        return model_name(self.config, self.user_model)

    @property
    def model_kwargs(self) -> dict:
        return model_kwargs(self.config, self.user_model)

    # ---- set-up ------------------------------------------------------------------------
    def prepare(self) -> Trainer:
        """Load the data, build the model, choose the setup, and make the optimizer and loaders."""
        if self.evaluator is not None:  # prepared: the last part prepare() makes exists
            return self
        config = self.config
        self.run_directory.check(continuing=self.epoch > 0)  # before anything slow: a bad --out costs nothing
        self.runtime = self.runtime or Runtime.create(config.precision, config.threads, config.progress,
                                                      config.device, config.dist_timeout)
        seed_everything(config.seed, config.deterministic)
        self._load_data()
        self.model_setup = ModelSetup(config, self.runtime, self.data, self.task, self.user_model)
        self.trained = self.model_setup.build()
        self.generator = torch.Generator().manual_seed(config.seed)
        self.batches = make_batches(config, self.runtime, self.data, self.task.name,
                                    self.setup.channels_last, self.generator)
        self.loop = TrainLoop(config, self.runtime, self.task, self.trained, self.batches.train,
                              self.data.train, self.position)
        self.evaluator = Evaluator(self.eval_model, self.batches, len(self.classes), self.runtime.autocast,
                                   self.task)
        return self

    def _load_data(self) -> None:
        """The data (loaded unless given), its task, and the checks of the batch size against it."""
        config, runtime = self.config, self.runtime
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

    def choose_setup(self):
        """The precision and layout this model trains with (measured on CPUs); prepare() calls it."""
        return self.prepare().model_setup.choose_setup(self.model)

    # ---- training ----------------------------------------------------------------------
    def train_step(self, x: torch.Tensor, y: torch.Tensor, global_count: int | None = None) -> torch.Tensor:
        """One optimisation step (train/loop.py's `TrainLoop.train_step`)."""
        return self.loop.train_step(x, y, global_count)

    def train_epoch(self, on_step: Callable[[Trainer], None] | None = None, on_step_every: int = 1) -> dict:
        """One pass over the training batches; `on_step` as in `fit`."""
        row = self.loop.run_epoch(functools.partial(on_step, self) if on_step is not None else None, on_step_every)
        if not math.isfinite(row["train_loss"]):  # the mean of a sum that is nan or inf is the same
            raise self.run_directory.diverged(f"the loss is {row['train_loss']} in epoch {self.epoch + 1}",
                                              self.epoch)
        return row

    def epoch_image_size(self, epoch: int | None = None) -> tuple[int, int] | None:
        """The (height, width) this epoch trains on under `progressive`, or None for full size."""
        return self.loop.image_size(self.epoch if epoch is None else epoch)

    def evaluate(self, batches=None, tta: bool = False):
        return self.prepare().evaluator.evaluate(batches, tta)

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
        self._open_run_dir()
        if self.epoch == 0:
            self._log_start()
        stop = min(until_epoch or self.config.epochs, self.config.epochs)
        evaluation = None
        while self.epoch < stop:
            evaluation = self._run_epoch(on_step, on_step_every)
            self._save(evaluation)
        if evaluation is None:  # no epoch ran, or --test-once stopped before the last: read the test set now
            evaluation = self.evaluate(tta=self.config.tta and self.epoch == self.config.epochs)
        return self._result(evaluation)

    def _run_epoch(self, on_step, on_step_every: int):
        """Train one epoch, evaluate, and record its row; returns the test evaluation that is saved."""
        started, compiled_before = time.perf_counter(), self.compile_seconds
        row = {"epoch": self.epoch + 1, **self.train_epoch(on_step, on_step_every)}
        train_seconds = time.perf_counter() - started - self.hook_seconds
        if self.compile_seconds is not None and compiled_before is None:
            row["compile_seconds"] = self.compile_seconds
            train_seconds -= self.compile_seconds  # the rate is the compiled steps' rate
        # TTA only at the end: each view is one more pass over the test set (up to 6; docs/speed.md).
        last = self.epoch + 1 == self.config.epochs
        metrics, evaluation = self.evaluator.epoch_metrics(tta=self.config.tta and last,
                                                           test=last or not self.config.test_once)
        row.update(metrics)
        row.update(seconds=time.perf_counter() - started,
                   examples_per_sec=row.pop("examples") / max(train_seconds, 1e-9))
        self.epoch += 1
        self.history.append(row)
        self.runtime.log(format_epoch(row))
        return evaluation

    def _result(self, evaluation) -> dict:
        return {"run_dir": str(self.run_dir), "checkpoint": str(self.run_directory.checkpoint),
                "task": self.task.name, "epochs": self.epoch, "test_acc": evaluation.accuracy,
                "test_loss": evaluation.loss, **({"test_miou": evaluation.mean_iou}
                                                 if self.task.name == "segmentation" else {}),
                "seconds": sum(r["seconds"] for r in self.history), "evaluation": evaluation}

    def _log_start(self) -> None:
        runtime = self.runtime
        world = f", {runtime.world_size} processes" if runtime.world_size > 1 else ""
        runtime.log(f"training {self.model_name} ({count_parameters(self.model):,} parameters) "
                    f"on {self.data.name} ({self.task.name}): {len(self.data.train):,} train / "
                    f"{len(self.data.test):,} test, {runtime.precision}, {runtime.device.type}, "
                    f"{torch.get_num_threads()} threads{world}")
        for note in self.data.notes:
            runtime.log(f"note: {note}")
        for key, value in self.model_kwargs.items():
            if key not in self.config.model_kwargs:
                runtime.log(f"note: {self.config.model} trains with {key}={value}, as in its paper "
                            f"(--model-arg {key}=... to change it)")

    # ---- the run directory and checkpoints -----------------------------------------------
    def _open_run_dir(self) -> None:
        """Rank 0 names, checks and makes the run directory and writes its config.json."""
        runtime = self.runtime
        self.run_directory.settle(lambda: default_run_path(self.model_name, self.data.name),
                                  continuing=self.epoch > 0, is_main=runtime.is_main)
        if not runtime.is_main:
            return
        self.run_directory.make()
        record_run(self.user_model if self.user_model is not None else self.model, self.run_dir)
        self.run_directory.write_config({
            "config": self.config.to_dict(), "model": self.model.convzoo_spec, "task": self.task.name,
            "parameters": count_parameters(self.model), "data": self.data.describe(),
            "runtime": {"device": str(runtime.device), "precision": runtime.precision,
                        "channels_last": self.setup.channels_last,
                        "world_size": runtime.world_size, "threads": torch.get_num_threads(),
                        "torch": torch.__version__, "python": platform.python_version()},
        })

    def _save(self, evaluation) -> None:
        state = self.state()
        if not self.runtime.is_main:
            return
        self.run_directory.write_checkpoint(state)
        self.run_directory.write_metrics(self.history)
        if evaluation is not None:  # None: --test-once and not the last epoch
            self.run_directory.write_eval(self.epoch, evaluation, self.classes)
        self.run_directory.write_curves(self.model_name, self.history)

    def state(self) -> dict:
        """Everything a checkpoint holds (train/resume.py); under DDP every process must call it."""
        return run_state(self.trained, self.position, self.history, self.config, self.data, self.task.name,
                         self.generator)

    @classmethod
    def resume(cls, run: str | Path, epochs: int | None = None, model: nn.Module | None = None,
               data: DataBundle | None = None, code: str | None = None, **overrides) -> Trainer:
        """Continue the run saved in `run` (a run directory or checkpoint file). A run of the user's
        own model needs that model again: `model=` built as it was, or `code` (FILE.py or
        package.module) to rebuild it; `overrides` may set the config fields a resumed run may
        change (TrainConfig's `resume` fields)."""
        payload = resumable_payload(run)
        if payload["model"].get("custom") and model is None:
            model = model_for_payload(payload, run, code=code)  # without code: one line naming --code
        trainer = cls(resumed_config(payload, run, epochs, overrides), data=data, model=model)
        trainer.epoch = payload["epoch"]  # a run to continue, not a new one in an occupied directory
        trainer.prepare()
        trainer.history = restore_state(payload, trainer.trained, trainer.position, trainer.runtime,
                                        trainer.config.seed, trainer.generator)
        return trainer
