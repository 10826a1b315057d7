"""`convzoo bench recipe`: a recipe's record runs, as docs/speedrun.md's table reports them.

Each seed is `convzoo train --recipe NAME --seed S` in a fresh Python process, timed by the wall
clock around the whole process: interpreter start-up, imports, reading the dataset's files,
training, the evaluations, checkpoints and plots (everything a user waits for). The result is the
accuracy the run prints (with the recipe's TTA), mean ± sd over the seeds, and the median time,
checked against the speedrun targets (issue #18's table) where the recipe has one.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from ..children import die_with_parent
from ..errors import ConvzooError, unknown_name
from ..train.compute import Compute, run_compute

# recipe -> (accuracy, must: seconds, stretch: seconds), on a 2-core CPU, median of 3 seeds.
TARGETS = {"fast": (0.92, 40.0, 25.0), "accurate": (0.94, 300.0, 180.0), "best": (0.95, 1800.0, 900.0)}


@dataclass
class SeedRun:
    seed: int
    accuracy: float
    seconds: float  # wall clock of the whole process
    train_seconds: float  # the epochs' own time, as the run reports it
    val_accuracy: list[float] = field(default_factory=list)  # after each epoch, when the run has a validation split


@dataclass
class RecipeRecord:
    recipe: str
    extra_flags: list[str]
    runs: list[SeedRun]
    machine: dict
    commit: str | None
    command: str
    load_average_before: tuple = ()
    load_average_after: tuple = ()
    target: dict = field(default_factory=dict)
    compute: dict = field(default_factory=dict)  # one run's images seen and FLOPs (the same for every seed)
    thresholds: list = field(default_factory=list)  # compute to each validation accuracy (bench/thresholds.py)

    @property
    def accuracies(self) -> list[float]:
        return [r.accuracy for r in self.runs]

    @property
    def mean(self) -> float:
        return statistics.fmean(self.accuracies)

    @property
    def sd(self) -> float:
        return statistics.stdev(self.accuracies) if len(self.runs) > 1 else 0.0

    @property
    def median_accuracy(self) -> float:
        return statistics.median(self.accuracies)

    @property
    def median_seconds(self) -> float:
        return statistics.median(r.seconds for r in self.runs)

    def to_dict(self) -> dict:
        return {**asdict(self), "mean": self.mean, "sd": self.sd, "median_accuracy": self.median_accuracy,
                "median_seconds": self.median_seconds}


def verdict(recipe: str, accuracy: float, seconds: float) -> dict:
    """Where the median accuracy and median time stand against the recipe's speedrun targets
    (empty if it has none)."""
    if recipe not in TARGETS:
        return {}
    goal, must, stretch = TARGETS[recipe]
    reached = accuracy >= goal
    return {"accuracy": goal, "must_seconds": must, "stretch_seconds": stretch,
            "must_met": reached and seconds <= must, "stretch_met": reached and seconds <= stretch}


def run_recipe(recipe: str, seeds: list[int], extra_flags: list[str] | None = None, *, threads: int = 0,
               data_dir: str | None = None, timeout: float = 7200.0, keep: str | None = None,
               log: Callable[[str], None] | None = None) -> RecipeRecord:
    return run_recipes([(recipe, list(extra_flags or []))], seeds, threads=threads, data_dir=data_dir,
                       timeout=timeout, keep=keep, log=log)[0]


def kept_runs(keep: str, recipes: list[str], seeds: list[int]) -> dict[tuple[int, int], str]:
    """The folder `--keep DIR` gives each (recipe index, seed): DIR/RECIPE-seedS (RECIPE-INDEX-seedS
    when a recipe runs against itself); refused, before any run, where one is already there (a
    record's checkpoint is never overwritten)."""
    from ..errors import ConvzooError

    names = [name if recipes.count(name) == 1 else f"{name}-{index}" for index, name in enumerate(recipes)]
    folders = {(index, seed): os.path.join(keep, f"{name}-seed{seed}")
               for seed in seeds for index, name in enumerate(names)}
    taken = [folder for folder in folders.values() if os.path.exists(folder)]
    if taken:
        raise ConvzooError(f"--keep {keep}: {taken[0]} is already there; give an empty folder or move it away")
    return folders


def run_recipes(recipes: list[tuple[str, list[str]]], seeds: list[int], *, threads: int = 0,
                data_dir: str | None = None, timeout: float = 7200.0, keep: str | None = None,
                log: Callable[[str], None] | None = None) -> list[RecipeRecord]:
    """A record per (recipe, its train flags), their runs alternating seed by seed (A s0, B s0, A s1,
    ...) so that a slow spell of a shared machine falls on both sides alike. Each run goes to a scratch
    folder, or with `keep` to KEEP/RECIPE-seedS, checkpoint and all."""
    from ..timing import git_commit, machine
    from ..train.recipes import RECIPES

    for recipe, _ in recipes:
        if recipe not in RECIPES:
            raise unknown_name("recipe", recipe, list(RECIPES))
    log = log or (lambda message: print(message, file=sys.stderr, flush=True))
    common = (["--threads", str(threads)] if threads else []) + (["--data-dir", str(data_dir)] if data_dir else [])
    runs: list[list[SeedRun]] = [[] for _ in recipes]
    kept = kept_runs(keep, [recipe for recipe, _ in recipes], seeds) if keep else {}
    before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="convzoo-recipe-") as scratch:
        for seed in seeds:
            for index, (recipe, flags) in enumerate(recipes):
                out = kept.get((index, seed)) or os.path.join(scratch, f"{index}-seed{seed}")
                runs[index].append(_run_seed(recipe, seed, [*flags, *common], out, timeout))
                log(f"{recipe} seed {seed}: test accuracy {runs[index][-1].accuracy:.4f} in "
                    f"{runs[index][-1].seconds:.1f} s")
    described = machine()
    if threads:
        described["threads"] = threads  # the runs' threads, not this process's
    after, commit = os.getloadavg(), git_commit(mark_changes=True)
    records = []
    for (recipe, flags), recipe_runs in zip(recipes, runs):
        record = RecipeRecord(recipe, flags, recipe_runs, described, commit,
                              " ".join(["convzoo", "train", "--recipe", recipe, "--seed", "S", *flags, *common]),
                              before, after)
        record.target = verdict(recipe, record.median_accuracy, record.median_seconds)
        records.append(record)
    return records


def _run_seed(recipe: str, seed: int, flags: list[str], out: str, timeout: float) -> SeedRun:
    """One cold `convzoo train --recipe` process, timed by the wall clock around all of it."""
    command = [sys.executable, "-m", "convzoo", "train", "--recipe", recipe, "--seed", str(seed),
               "--out", out, "--json", "--no-count", *flags]
    started = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False,
                              preexec_fn=die_with_parent())
    except subprocess.TimeoutExpired:
        raise ConvzooError(f"recipe {recipe}, seed {seed}: still running after --timeout {timeout:g} s; "
                           "stopped") from None
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise ConvzooError(f"recipe {recipe}, seed {seed} failed: {last}")
    try:
        result = json.loads(done.stdout)
        accuracy, train_seconds = result["test_acc"], result["seconds"]
    except (ValueError, KeyError, TypeError):
        raise ConvzooError(f"recipe {recipe}, seed {seed}: the run ended without its --json result "
                           "(a train flag after -- that changes the output?)") from None
    return SeedRun(seed, accuracy, seconds, train_seconds, _val_curve(out))


def _val_curve(out: str) -> list[float]:
    """The validation accuracy after each epoch, from the run's metrics.jsonl ([] without a split)."""
    try:
        with open(os.path.join(out, "metrics.jsonl")) as rows:
            return [row["val_acc"] for row in map(json.loads, rows) if "val_acc" in row]
    except (OSError, ValueError, KeyError):
        return []


def recipe_compute(config, by_epoch: bool = False) -> Compute | list[Compute] | None:
    """The compute a whole run of `config` would do, counted without training: the data loaded,
    the model built (fp32, NCHW: the count does not depend on either), and every epoch's images
    and steps as `fit` would take them; the evaluations as the run makes them. With `by_epoch`, the
    list of the run's compute up to the end of epoch 1, 2, ... instead."""
    import dataclasses

    from ..train import Trainer

    config = dataclasses.replace(config, precision="fp32", channels_last=False, progress=False, out=None)
    trainer = Trainer(config).prepare()
    counts = []
    for epoch in range(1, config.epochs + 1) if by_epoch else [config.epochs]:
        trainer.epoch, trainer.step = epoch, trainer.total_steps * epoch // config.epochs
        counts.append(run_compute(trainer))
    if any(c is None for c in counts):
        return None
    return counts if by_epoch else counts[0]
