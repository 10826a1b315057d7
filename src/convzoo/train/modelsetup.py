"""The model of a run: built from the registry by name (or the user's own module), checked against
the task's targets, and its precision and memory layout chosen (measured on CPUs, train/tune.py).

`ModelSetup` is a part of `Trainer` (a mixin): it reads the trainer's config, runtime and data.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import math

import torch
from torch import nn

from ..data import Normalizer
from ..errors import ConvzooError
from ..layers import initialise
from ..models import build_user_model, create_model, is_user_spec, model_info
from ..models.userspec import split_spec
from . import distributed
from .checkpoint import custom_model_spec
from .loaders import resize_batch
from .runtime import cpu_has_fast_bf16
from .tasks import check_fit
from .tune import Setup, candidate_setups, fastest_setup


class ModelSetup:
    @property
    def model_name(self) -> str:
        if self.user_model is not None:
            return type(self.user_model).__name__
        return split_spec(self.config.model)[1] if is_user_spec(self.config.model) else self.config.model

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
                                 in_channels=channels, input_size=(height, width), **self.model_kwargs)

    @property
    def model_kwargs(self) -> dict:
        """The builder options: the config's, over those the registry entry trains with (GoogLeNet's
        auxiliary classifiers)."""
        if self.user_model is not None or is_user_spec(self.config.model):
            return dict(self.config.model_kwargs)
        return {**model_info(self.config.model).train_options, **self.config.model_kwargs}

    def _fit_first_layer(self, sample_size: int = 5000) -> None:
        """A model with `fit_to_data` (fastnet's patch-whitening stem) sees a seeded sample of the
        normalised training images before training; the run's random streams are not touched."""
        fit = getattr(self.model, "fit_to_data", None)
        if fit is None:
            return
        train = self.data.train
        generator = torch.Generator().manual_seed(self.config.seed)
        chosen = torch.randperm(len(train), generator=generator)[:sample_size]
        fit(Normalizer(train.mean, train.std)(train.images[chosen]))

    def _check_fit(self) -> None:
        """A forward pass on two training examples: the model's output must fit the task's targets."""
        train = self.data.train
        sample = Normalizer(train.mean, train.std)(train.images[:2])
        was_training = self.model.training
        try:
            with torch.random.fork_rng(devices=[]), torch.inference_mode():
                outputs = self.model.eval()(sample)
        except RuntimeError as exc:  # the user's own model, written for other images
            first = str(exc).strip().splitlines()[0][:160]
            raise ConvzooError(f"{self.model_name} cannot take {self.data.name}'s {'x'.join(map(str, train.shape))} "
                               f"images: {first}") from None
        finally:
            self.model.train(was_training)
        check_fit(self.model_name, outputs, self.data.name, self.task, len(self.classes), tuple(train.labels.shape[1:]))
        if self.config.progressive:
            self._check_progressive(sample)

    def _check_progressive(self, sample: torch.Tensor) -> None:
        """Progressive resizing shrinks the images only: the model must take the first epoch's size."""
        flag = f"--progressive {self.config.progressive:g}"
        if self.task.name != "classification":
            raise ConvzooError(f"{flag}: progressive resizing is for classification; a {self.task.name} "
                               "target would have to be resized with the image")
        size = self.epoch_image_size(0)
        if size is None:
            return
        was_training = self.model.training
        try:
            with torch.random.fork_rng(devices=[]), torch.inference_mode():
                self.model.eval()(resize_batch(sample, size))
        except RuntimeError:
            raise ConvzooError(f"{flag}: {self.model_name} cannot take the first epoch's {size[0]}x{size[1]} "
                               "images; start from a larger fraction") from None
        finally:
            self.model.train(was_training)

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


def _user_model(spec: str, kwargs: dict, context: dict) -> nn.Module:
    model, record = build_user_model(spec, kwargs, context=context)
    model.convzoo_spec = record  # what its checkpoint records: spec, arguments, the source's SHA-256
    return model
