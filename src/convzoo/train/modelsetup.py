"""The model of a run, ready to train: built from the registry by name (or the user's own module),
checked against the task's targets, its precision and memory layout chosen (measured on CPUs,
train/tune.py), placed on the device, and given its optimiser, gradient scaler and EMA.

`ModelSetup(config, runtime, data, task, user_model).build()` returns a `TrainingModel`; the steps
run in a fixed order, because the run's random streams (initialisation, dropout) depend on it.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import math
from dataclasses import dataclass

import torch
from torch import nn

from ..data import DataBundle, Normalizer
from ..errors import ConvzooError
from ..layers import initialise
from ..models import build_user_model, create_model, is_user_spec, model_info
from ..models.userspec import split_spec
from . import distributed
from .checkpoint import custom_model_spec
from .config import TrainConfig
from .loaders import resize_batch
from .optim import WeightEMA, build_optimizer
from .runtime import Runtime, cpu_has_fast_bf16
from .schedule import progressive_size
from .tasks import Task, check_fit
from .tune import Setup, candidate_setups, fastest_setup


@dataclass
class TrainingModel:
    """The model as it trains: the module, what a step calls (DDP- or compile-wrapped, sharing its
    parameters), the chosen setup, and the optimiser, gradient scaler and weight average."""
    model: nn.Module
    step_model: nn.Module
    setup: Setup
    optimizer: object
    scaler: torch.amp.GradScaler | None
    ema: WeightEMA | None

    @property
    def eval_model(self) -> nn.Module:
        """The weights that are evaluated and saved for use: the moving average when `ema` is on."""
        return self.ema.model if self.ema is not None else self.model


def model_name(config: TrainConfig, user_model: nn.Module | None) -> str:
    if user_model is not None:
        return type(user_model).__name__
    return split_spec(config.model)[1] if is_user_spec(config.model) else config.model


def model_kwargs(config: TrainConfig, user_model: nn.Module | None) -> dict:
    """The builder options: the config's, over those the registry entry trains with (GoogLeNet's
    auxiliary classifiers)."""
    if user_model is not None or is_user_spec(config.model):
        return dict(config.model_kwargs)
    return {**model_info(config.model).train_options, **config.model_kwargs}


class ModelSetup:
    def __init__(self, config: TrainConfig, runtime: Runtime, data: DataBundle, task: Task,
                 user_model: nn.Module | None = None):
        self.config, self.runtime, self.data, self.task = config, runtime, data, task
        self.user_model = user_model
        self.classes = data.train.classes
        self.name = model_name(config, user_model)

    def build(self) -> TrainingModel:
        """Build and check the model, choose its setup (this sets the runtime's precision), place it,
        and make what trains it."""
        config, runtime = self.config, self.runtime
        model = self._build_model()
        self._fit_first_layer(model)
        self._check_fit(model)
        setup = self.choose_setup(model)
        runtime.precision = setup.precision
        memory_format = torch.channels_last if setup.channels_last else torch.contiguous_format
        model.to(runtime.device, memory_format=memory_format)
        if config.sync_bn and runtime.world_size > 1:
            model = distributed.convert_sync_batchnorm(model, runtime.device)
        optimizer = build_optimizer(model, config)
        scaler = runtime.grad_scaler()
        ema = WeightEMA(model, config.ema) if config.ema else None
        return TrainingModel(model, self._step_model(model), setup, optimizer, scaler, ema)

    def _step_model(self, model: nn.Module) -> nn.Module:
        config, runtime = self.config, self.runtime
        step_model = model
        if runtime.world_size > 1:
            step_model = nn.parallel.DistributedDataParallel(
                model, device_ids=[runtime.device] if runtime.device.type == "cuda" else None)
            if runtime.rank:  # dropout and other in-model randomness: a stream of its own per rank
                torch.manual_seed(config.seed + 1_000_003 * runtime.rank)
        # The compiled module shares the model's parameters; checkpoints keep the plain model's keys.
        return torch.compile(step_model) if config.compile else step_model

    def _build_model(self) -> nn.Module:
        if self.user_model is not None:
            if not hasattr(self.user_model, "convzoo_spec"):
                self.user_model.convzoo_spec = custom_model_spec(self.user_model)
            return self.user_model
        return initialise(self._builder()(), self.config.init)

    def _builder(self):
        """A function that builds a fresh copy of the model (the setup is timed on fresh copies)."""
        if self.user_model is not None:
            return functools.partial(copy.deepcopy, self.user_model)
        channels, height, width = self.data.train.shape
        if is_user_spec(self.config.model):  # the user's FILE.py:Class, told the data's shape if it asks
            context = {"num_classes": len(self.classes), "in_channels": channels, "input_size": (height, width)}
            return functools.partial(_user_model, self.config.model, self.config.model_kwargs, context)
        return functools.partial(create_model, self.config.model, num_classes=len(self.classes),
                                 in_channels=channels, input_size=(height, width),
                                 **model_kwargs(self.config, self.user_model))

    def _fit_first_layer(self, model: nn.Module, sample_size: int = 5000) -> None:
        """A model with `fit_to_data` (fastnet's patch-whitening stem) sees a seeded sample of the
        normalised training images before training; the run's random streams are not touched."""
        fit = getattr(model, "fit_to_data", None)
        if fit is None:
            return
        train = self.data.train
        generator = torch.Generator().manual_seed(self.config.seed)
        chosen = torch.randperm(len(train), generator=generator)[:sample_size]
        fit(Normalizer(train.mean, train.std)(train.images[chosen]))

    def _check_fit(self, model: nn.Module) -> None:
        """A forward pass on two training examples: the model's output must fit the task's targets."""
        train = self.data.train
        sample = Normalizer(train.mean, train.std)(train.images[:2])
        try:
            outputs = _eval_forward(model, sample)
        except RuntimeError as exc:  # the user's own model, written for other images
            first = str(exc).strip().splitlines()[0][:160]
            raise ConvzooError(f"{self.name} cannot take {self.data.name}'s {'x'.join(map(str, train.shape))} "
                               f"images: {first}") from None
        check_fit(self.name, outputs, self.data.name, self.task, len(self.classes), tuple(train.labels.shape[1:]))
        if self.config.progressive:
            self._check_progressive(model, sample)

    def _check_progressive(self, model: nn.Module, sample: torch.Tensor) -> None:
        """Progressive resizing shrinks the images only: the model must take the first epoch's size."""
        config = self.config
        flag = f"--progressive {config.progressive:g}"
        if self.task.name != "classification":
            raise ConvzooError(f"{flag}: progressive resizing is for classification; a {self.task.name} "
                               "target would have to be resized with the image")
        size = progressive_size(config.progressive, config.epochs, 0, self.data.train.shape[1:])
        if size is None:
            return
        try:
            _eval_forward(model, resize_batch(sample, size))
        except RuntimeError:
            raise ConvzooError(f"{flag}: {self.name} cannot take the first epoch's {size[0]}x{size[1]} "
                               "images; start from a larger fraction") from None

    def choose_setup(self, model: nn.Module) -> Setup:
        """Resolve `auto` precision and layout: measured on CPUs (train/tune.py) by rank 0 and sent to
        every process, a rule on GPUs."""
        config, runtime = self.config, self.runtime
        if runtime.device.type != "cpu":
            return Setup(runtime.precision, config.channels_last is not False)
        setups = candidate_setups(config.precision, config.channels_last, cpu_has_fast_bf16())
        setup = None
        if runtime.is_main:
            # The printed architecture is in the key, so a model whose layers change is measured anew.
            key = {"model": self.name, "architecture": hashlib.sha256(repr(model).encode()).hexdigest()[:16]}
            local_batch = math.ceil(config.batch_size / runtime.world_size)
            with torch.random.fork_rng(devices=[]):  # measuring must not move the run's random stream
                setup = fastest_setup(key, self._builder(), self.data.train.shape, len(self.classes), local_batch,
                                      setups, log=runtime.log, task=self.task)
        return distributed.broadcast(setup)


def _eval_forward(model: nn.Module, x: torch.Tensor):
    """The model's output for `x` in eval mode, leaving its mode and the random streams as they were."""
    was_training = model.training
    try:
        with torch.random.fork_rng(devices=[]), torch.inference_mode():
            return model.eval()(x)
    finally:
        model.train(was_training)


def _user_model(spec: str, kwargs: dict, context: dict) -> nn.Module:
    model, record = build_user_model(spec, kwargs, context=context)
    model.convzoo_spec = record  # what its checkpoint records: spec, arguments, the source's SHA-256
    return model
