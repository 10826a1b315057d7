"""`convzoo bench race`: time to accuracy, the textbook recipe against a convzoo recipe, in one process.

The rules (docs/speedrun.md):
- The textbook (d2l's LeNet, textbook.py) runs first, then the convzoo recipe through the ordinary
  engine (`Trainer`). Each side has its own clock, started at the start of its part: it includes
  reading the dataset's files, preparing the data and setting up (the Trainer's `prepare()` and
  `choose_setup()` too), but not the imports, done before either clock starts.
- Every `eval_every` steps a side's accuracy on a fixed, class-balanced slice of the test set (the
  same for both) is logged against its clock. The clock is paused while evaluating, so logging
  often costs neither side anything.
- The target is the textbook's final accuracy on the full test set. convzoo reaches it at the first
  logged point whose slice accuracy is >= the target and whose full-test-set accuracy, evaluated
  there with the clock paused, is >= the target too.
- Each side's per-epoch work is on its clock: d2l's loop evaluates the test set after every epoch,
  convzoo's engine evaluates, saves a checkpoint and draws its curves.
- Each side's final figure is on the full test set, inside its clock: the textbook's plain
  accuracy (its evaluation after the last epoch), convzoo's as the recipe reports it (with its
  TTA). ratio = textbook total time / convzoo's time to the target.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from ..atomic import new_temporary
from ..data import ArrayDataset, BatchLoader, load_dataset
from ..data.sampling import balanced_subset
from ..errors import ConvzooError, unknown_name
from ..timing import PausableClock, machine
from ..train import Trainer
from ..train.recipes import RECIPES
from .textbook import D2L_LENET, EVAL_BATCH, TextbookLoop, TextbookRecipe

POINTS_PER_EPOCH = 50  # the default logging interval: about this many points per epoch of each side
FIGURE_SUFFIXES = (".png", ".svg", ".pdf")


@dataclass
class Point:
    seconds: float  # the side's clock: evaluations left out
    step: int
    epoch: float  # step / steps per epoch
    slice_acc: float
    full_acc: float | None = None  # only where the crossing rule needs it, and at the end
    final: bool = False  # the end of the side's run: full_acc is its final figure


@dataclass
class Side:
    name: str  # textbook | convzoo
    recipe: str  # what it ran, in words
    steps_per_epoch: int
    eval_every: int
    points: list[Point] = field(default_factory=list)
    final_acc: float = math.nan  # full test set
    total_seconds: float = math.nan
    paused_seconds: float = 0.0  # evaluations, left out of the clock
    epoch_test_acc: list[float] = field(default_factory=list)  # the textbook's own evaluations, on its clock
    crossing: Point | None = None  # convzoo: where it reached the target
    model: nn.Module | None = field(default=None, repr=False)  # the trained model (not in to_dict)

    @property
    def setup_seconds(self) -> float:
        """The clock at the first point (step 0): reading, preparing the data and setting up."""
        return self.points[0].seconds

    def to_dict(self) -> dict:
        # Field by field: dataclasses.asdict would deep-copy the model.
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
             if f.name not in ("model", "points", "crossing")}
        return {**d, "setup_seconds": self.setup_seconds, "points": [dataclasses.asdict(p) for p in self.points],
                "crossing": dataclasses.asdict(self.crossing) if self.crossing else None}


@dataclass
class RaceResult:
    data: str
    recipe: str
    slice_size: int
    target: float  # the textbook's final full-test-set accuracy
    textbook: Side
    convzoo: Side
    machine: dict
    figure: str | None = None

    @property
    def time_to_target(self) -> float | None:
        return self.convzoo.crossing.seconds if self.convzoo.crossing else None

    @property
    def ratio(self) -> float | None:
        t = self.time_to_target
        return self.textbook.total_seconds / t if t else None

    def to_dict(self) -> dict:
        return {"data": self.data, "recipe": self.recipe, "slice_size": self.slice_size, "target": self.target,
                "time_to_target": self.time_to_target, "ratio": self.ratio,
                "textbook": self.textbook.to_dict(), "convzoo": self.convzoo.to_dict(),
                "machine": self.machine, "figure": self.figure}


def first_crossing(points: list[Point], target: float) -> Point | None:
    """The first point whose slice and full-test-set accuracies are both >= target."""
    return next((p for p in points if p.slice_acc >= target and p.full_acc is not None and p.full_acc >= target),
                None)


class _Recorder:
    """Logs a side's points with its clock paused: the slice accuracy, and the full test set's where
    the slice reaches the target before the target has been reached."""

    def __init__(self, side: Side, clock: PausableClock, slice_accuracy: Callable[[], float],
                 full_accuracy: Callable[[], float], target: float | None, log: Callable[[str], None]):
        self.side, self.clock, self.target, self.log = side, clock, target, log
        self.slice_accuracy, self.full_accuracy = slice_accuracy, full_accuracy

    def __call__(self, step: int) -> None:
        with self.clock.paused():
            side = self.side
            point = Point(self.clock.seconds(), step, step / side.steps_per_epoch, self.slice_accuracy())
            if self.target is not None and side.crossing is None and point.slice_acc >= self.target:
                point.full_acc = self.full_accuracy()
                if point.full_acc >= self.target:
                    side.crossing = point
                    self.log(f"{side.name}: reached {self.target:.4f} at {point.seconds:.1f} s (step {step}, "
                             f"slice {point.slice_acc:.4f}, full test set {point.full_acc:.4f})")
            side.points.append(point)
        side.paused_seconds = self.clock.paused_seconds


def race(data: str = "fashion-mnist", data_dir=None, *, recipe: str = "fast", epochs: int = D2L_LENET.epochs,
         eval_every: int | None = None, slice_size: int = 1000, seed: int = 0, threads: int = 0,
         figure: str | Path | None = None, recipe_overrides: dict | None = None, textbook: TextbookRecipe | None = None,
         log: Callable[[str], None] | None = None) -> RaceResult:
    """Race the textbook (`textbook`, default d2l's LeNet, `epochs` epochs) against convzoo's `recipe`
    (with `recipe_overrides`) on `data`; log each side's accuracy every `eval_every` steps (default:
    ~50 points per epoch) on a class-balanced slice of `slice_size` test images; draw both curves
    into `figure` if given."""
    log = log or _stderr
    if recipe not in RECIPES:
        raise unknown_name("recipe", recipe, list(RECIPES))
    if figure is not None:
        _check_writable(Path(figure))
    textbook = dataclasses.replace(textbook or D2L_LENET, epochs=epochs)
    bundle = load_dataset(data, data_dir, seed=seed)
    if bundle.train.labels.ndim != 1:
        raise ConvzooError(f"{bundle.name} is a segmentation dataset; the race is between classifiers "
                           "(fashion-mnist, mnist, cifar10, ...)")
    if slice_size > len(bundle.test):
        log(f"note: --slice {slice_size:,} capped at {len(bundle.test):,} (the whole test set)")
        slice_size = len(bundle.test)
    test_slice = balanced_subset(bundle.test, slice_size, seed)
    if threads:
        torch.set_num_threads(threads)
    _import_before_the_clocks()
    before = os.getloadavg()
    first = _textbook_side(textbook, data, data_dir, seed, eval_every, test_slice, log)
    second = _convzoo_side(recipe, recipe_overrides or {}, data, data_dir, seed, threads, eval_every, test_slice,
                           first.final_acc, log)
    described = {**machine(), "cores": os.cpu_count(), "load_average_before": before,
                 "load_average_after": os.getloadavg()}
    result = RaceResult(bundle.name, recipe, slice_size, first.final_acc, first, second, described)
    if figure is not None:
        from .race_figure import plot_race

        plot_race(result, figure)
        result.figure = str(figure)
    return result


def _textbook_side(recipe: TextbookRecipe, data, data_dir, seed: int, eval_every: int | None,
                   test_slice: ArrayDataset, log) -> Side:
    clock = PausableClock()
    bundle = load_dataset(data, data_dir, seed=seed)
    loop = TextbookLoop(recipe, bundle, seed)
    side = Side("textbook", recipe.describe(), loop.steps_per_epoch, eval_every or _every(loop.steps_per_epoch),
                model=loop.model)
    record = _Recorder(side, clock, lambda: loop.accuracy(test_slice), lambda: loop.accuracy(bundle.test), None, log)
    log(f"textbook: {side.recipe}")
    record(0)
    for epoch in range(recipe.epochs):
        loop.train_epoch(lambda lp: record(lp.step), side.eval_every)
        if recipe.test_every_epoch:  # part of the recipe, so on its clock (as convzoo's per-epoch evaluation is)
            side.epoch_test_acc.append(loop.test_accuracy(bundle.test))
        tested = f", test accuracy {side.epoch_test_acc[-1]:.4f}" if recipe.test_every_epoch else ""
        log(f"textbook: epoch {epoch + 1}/{recipe.epochs}, slice accuracy {side.points[-1].slice_acc:.4f}{tested} "
            f"at {clock.seconds():.1f} s")
    # Inside the clock: a run ends with its test accuracy (d2l's: the last epoch's evaluation).
    side.final_acc = side.epoch_test_acc[-1] if recipe.test_every_epoch else loop.accuracy(bundle.test)
    side.total_seconds = clock.seconds()
    side.points.append(Point(side.total_seconds, loop.step, loop.step / side.steps_per_epoch,
                             loop.accuracy(test_slice), side.final_acc, final=True))
    log(f"textbook: test accuracy {side.final_acc:.4f} in {side.total_seconds:.1f} s")
    return side


def _convzoo_side(name: str, overrides: dict, data, data_dir, seed: int, threads: int, eval_every: int | None,
                  test_slice: ArrayDataset, target: float, log) -> Side:
    # The engine prints its progress on stdout, which the race keeps for its result (--json).
    with tempfile.TemporaryDirectory(prefix="convzoo-race-") as scratch, contextlib.redirect_stdout(sys.stderr):
        clock = PausableClock()
        config = RECIPES[name].config(**{"data": data, "data_dir": data_dir, "seed": seed, "threads": threads,
                                         "progress": False, "out": str(Path(scratch) / "run"), **overrides})
        trainer = Trainer(config).prepare()
        with clock.paused():
            slice_batches = BatchLoader(test_slice, EVAL_BATCH, device=trainer.runtime.device,
                                        channels_last=trainer.setup.channels_last)
        layout = "channels_last" if trainer.setup.channels_last else "NCHW"
        options = "".join(f" {k}={v}" for k, v in config.model_kwargs.items())
        optimizer = {"sgd": "SGD", "adamw": "AdamW", "muon": f"Muon (peak {config.muon_lr:g}) + SGD"}[config.optimizer]
        described = (f"recipe {name}: {config.model}{options}, {optimizer}{' Nesterov' if config.nesterov else ''} "
                     f"{config.schedule} peak lr {config.lr:g}, batch {config.batch_size}, {config.epochs} epochs, augment "
                     f"{config.augment}{', TTA' if config.tta else ''}, resident uint8 batches, "
                     f"{trainer.runtime.precision} {layout}")
        side = Side("convzoo", described, trainer.steps_per_epoch,
                    eval_every or _every(trainer.steps_per_epoch), model=trainer.eval_model)
        record = _Recorder(side, clock, lambda: trainer.evaluate(slice_batches).accuracy,
                           lambda: trainer.evaluate().accuracy, target, log)
        log(f"convzoo: {side.recipe}")
        record(0)
        result = trainer.fit(on_step=lambda t: record(t.step), on_step_every=side.eval_every)
        side.total_seconds = clock.seconds()
        side.final_acc = result["test_acc"]
        final = Point(side.total_seconds, trainer.step, trainer.step / side.steps_per_epoch,
                      trainer.evaluate(slice_batches).accuracy, side.final_acc, final=True)
    side.points.append(final)
    if side.crossing is None and final.slice_acc >= target and final.full_acc >= target:
        side.crossing = final
    log(f"convzoo: test accuracy {side.final_acc:.4f} in {side.total_seconds:.1f} s")
    return side


def _every(steps_per_epoch: int) -> int:
    return max(1, steps_per_epoch // POINTS_PER_EPOCH)


def _import_before_the_clocks() -> None:
    """What either side would otherwise pay inside its clock for the process, not the recipe: the
    first torch.optim optimizer imports torch._dynamo (about a second here), and the engine's
    curves.png imports matplotlib."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot

    torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)


def _check_writable(path: Path) -> None:
    """Before anything slow: a figure that cannot be written is found out now, not after the race."""
    if path.suffix.lower() not in FIGURE_SUFFIXES:
        raise ConvzooError(f"-o {path}: the figure is written as {', '.join(FIGURE_SUFFIXES)} (from its suffix)")
    new_temporary(path).unlink()


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
