"""`convzoo bench train`: convzoo's training step against the textbook loop, side by side."""

from __future__ import annotations

import functools
import statistics
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from ..data import DataBundle
from ..errors import ConvzooError
from ..timing import forever, seconds_of
from ..train import TrainConfig, Trainer
from .textbook import TextbookLoop, TextbookRecipe


@dataclass
class Loop:
    name: str
    precision: str  # fp32 | bf16
    layout: str  # NCHW | channels_last
    data: str
    rates: list[float]  # examples/s, one per round

    @property
    def rate(self) -> float:
        return statistics.median(self.rates)


@dataclass
class TrainBench:
    model: str
    batch_size: int
    steps: int  # per round and loop
    rounds: int
    loops: list[Loop]  # the textbook loop first: ratios are against it
    flops_per_example: float  # forward + backward, from FlopCounterMode on one step

    def ratio(self, loop: Loop) -> float:
        return loop.rate / self.loops[0].rate

    def to_dict(self) -> dict:
        return {"model": self.model, "batch_size": self.batch_size, "steps": self.steps, "rounds": self.rounds,
                "flops_per_example": self.flops_per_example,
                "loops": [{"name": loop.name, "precision": loop.precision, "layout": loop.layout,
                           "data": loop.data, "examples_per_sec": loop.rate, "ratio": self.ratio(loop)}
                          for loop in self.loops]}


def training_flops(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> int:
    """FLOPs of one forward + backward on (x, y) (convs, linears, matmuls; 2 per multiply-add)."""
    with FlopCounterMode(display=False) as counter:
        F.cross_entropy(model(x).float(), y).backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops()


def _textbook(model_name: str, bundle: DataBundle, batch_size: int, kwargs: dict):
    """The textbook loop (convzoo.bench.textbook) with plain SGD at lr 0.01, torch's default
    initialisation, normalised inputs and equal batches: only its speed is measured here. Returns
    run(n), which runs n steps, data loading included."""
    recipe = TextbookRecipe(model_name, lr=0.01, batch_size=batch_size, xavier=False, normalize=True,
                            drop_last=True, model_kwargs=kwargs)
    return TextbookLoop(recipe, bundle).run


def convzoo_step(model_name: str, bundle: DataBundle, batch_size: int, kwargs: dict, precision: str,
             channels_last: bool | None):
    """convzoo's Trainer step: resident uint8 data, whole-batch translate (+ flip) and normalise,
    then the step under `precision` in `channels_last` or NCHW (`auto`/None: the Trainer's measured
    choice, train/tune.py). Returns (run(n), trainer)."""
    config = TrainConfig(model=model_name, model_kwargs=kwargs, batch_size=batch_size, augment="auto",
                         precision=precision, channels_last=channels_last, progress=False)
    trainer = Trainer(config, data=bundle).prepare()
    trainer.model.train()
    batches = forever(trainer.train_batches)

    def run(steps: int) -> None:
        for _ in range(steps):
            trainer.train_step(*next(batches))

    return run, trainer


def check_one_batch(bundle: DataBundle, batch_size: int) -> None:
    if len(bundle.train) < batch_size:
        raise ConvzooError(f"{len(bundle.train)} training examples are fewer than one batch of {batch_size}")


def bench_train(model_name: str, bundle: DataBundle, batch_size: int = 128, steps: int = 20,
                rounds: int = 5, precision: str = "auto", model_kwargs: dict | None = None) -> TrainBench:
    """Examples/s of the textbook loop, of convzoo's data pipeline with the textbook's numerics
    (fp32, NCHW), and of convzoo's step as the Trainer sets it up (`precision`, the measured faster
    memory format): `rounds` alternating rounds of `steps` steps each, after one warm-up step each."""
    kwargs = dict(model_kwargs or {})
    check_one_batch(bundle, batch_size)
    textbook = _textbook(model_name, bundle, batch_size, kwargs)
    plain, _ = convzoo_step(model_name, bundle, batch_size, kwargs, "fp32", channels_last=False)
    fast, trainer = convzoo_step(model_name, bundle, batch_size, kwargs, precision, channels_last=None)
    batched = "resident uint8, batch aug."
    layout = "channels_last" if trainer.setup.channels_last else "NCHW"
    loops = [(Loop("textbook", "fp32", "NCHW", "DataLoader per sample", []), textbook),
             (Loop("convzoo", "fp32", "NCHW", batched, []), plain),
             (Loop("convzoo", trainer.runtime.precision, layout, batched, []), fast)]
    for _, run in loops:
        run(1)  # warm-up: kernel selection, first allocations
    for _ in range(max(rounds, 1)):
        for loop, run in loops:
            loop.rates.append(steps * batch_size / seconds_of(functools.partial(run, steps)))
    x, y = next(iter(trainer.train_batches))
    flops = training_flops(trainer.model, x, y)
    return TrainBench(model_name, batch_size, steps, rounds, [loop for loop, _ in loops], flops / batch_size)
