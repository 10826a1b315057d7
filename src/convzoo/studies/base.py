"""What a study is: data. A table of the runs it makes, its two settings, and the functions that
turn the finished runs into a table, figures and a finding. The runner (studies/runner.py) does
everything else, the same way for every study.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..experiments.figures import figure_at
from ..experiments.stats import Stat, stat

QUICK, FULL = "quick", "full"


@dataclass(frozen=True)
class Run:
    """One training of a study (repeated once per seed)."""

    name: str  # the run directory is runs/<name>-seed<k>
    model: str  # a registered model
    model_kwargs: dict = field(default_factory=dict)  # its builder options
    overrides: dict = field(default_factory=dict)  # TrainConfig fields that differ from the setting's
    label: str = ""  # how tables and figures name it (default: name)
    group: str = ""  # a study's own grouping (e.g. "plain" / "residual")
    settings: tuple[str, ...] = (QUICK, FULL)  # the settings that make this run
    # Per-setting changes: {"quick": {"model_kwargs": {...}, "overrides": {...}}}
    per_setting: dict = field(default_factory=dict)

    @property
    def title(self) -> str:
        return self.label or self.name

    def kwargs_for(self, setting: str) -> dict:
        return {**self.model_kwargs, **self.per_setting.get(setting, {}).get("model_kwargs", {})}

    def overrides_for(self, setting: str) -> dict:
        return {**self.overrides, **self.per_setting.get(setting, {}).get("overrides", {})}


@dataclass(frozen=True)
class Setting:
    """How big every run of a study is: --quick or the full study."""

    train_size: int | None  # a seeded class-balanced subset (None: the whole training set)
    epochs: int
    test_size: int | None = None  # a class-balanced subset of the test set, the same for every seed
    batch_size: int = 128
    lr: float = 0.05
    seeds: int = 3
    minutes: float = 0  # about how long it takes on 2 cores (the --help says it)
    config: dict = field(default_factory=dict)  # other TrainConfig fields (precision, schedule, ...)
    options: dict = field(default_factory=dict)  # the study's own knobs (target accuracy, probe sizes)


@dataclass
class Record:
    """One run at one seed, as the runner found or left it."""

    run: Run
    seed: int
    run_dir: Path
    status: str  # finished | diverged | failed | missing
    history: list[dict] = field(default_factory=list)  # metrics.jsonl rows
    measurements: dict = field(default_factory=dict)  # what the study's `measure` returned
    message: str = ""  # why it failed or diverged
    trained: str = ""  # what this invocation did: "started" | "resumed" | "" (read back)
    chance: float = 0.1  # the accuracy of guessing; a diverged run counts as this

    @property
    def final(self) -> dict:
        return self.history[-1] if self.history else {}

    def metric(self, key: str) -> float | None:
        """A final-epoch metric (test_acc, train_acc, test_loss, train_loss, gap = train - test
        accuracy), or a measurement by name. A diverged run's accuracies are chance."""
        if self.status == "diverged" and key in ("test_acc", "train_acc"):
            return self.chance
        if self.status == "diverged" and key == "gap":
            return 0.0
        if self.status != "finished":
            return None
        if key == "gap":
            return self.final.get("train_acc", math.nan) - self.final.get("test_acc", math.nan)
        if key == "seconds":
            return sum(r.get("seconds", 0.0) for r in self.history)
        if key in self.final:
            return self.final[key]
        return self.measurements.get(key)

    def to_dict(self) -> dict:
        return {"run": self.run.name, "seed": self.seed, "status": self.status, "run_dir": str(self.run_dir),
                "model": self.run.model, "test_acc": self.metric("test_acc"), "train_acc": self.metric("train_acc"),
                "test_loss": self.metric("test_loss"), "train_loss": self.metric("train_loss"),
                "seconds": self.metric("seconds"), "message": self.message, "history": self.history,
                "measurements": self.measurements}


@dataclass
class Results:
    """Everything a study's `analyse` sees: its records, grouped, and the numbers of each run."""

    study: Study
    setting_name: str
    setting: Setting
    data: str
    seeds: int
    records: list[Record]
    info: dict  # run name -> {"params": int, "macs": int}
    out: Path
    drawn: dict = field(default_factory=dict)  # figure name -> the Figure written (StudyResult.figures)

    @property
    def runs(self) -> list[Run]:
        return self.study.runs_for(self.setting_name)

    def of(self, run: str) -> list[Record]:
        return [r for r in self.records if r.run.name == run]

    def values(self, run: str, key: str) -> list[float]:
        return [v for v in (r.metric(key) for r in self.of(run)) if v is not None]

    def stat(self, run: str, key: str) -> Stat:
        return stat(self.values(run, key))

    def diverged(self, run: str) -> int:
        return sum(r.status == "diverged" for r in self.of(run))

    def option(self, key: str):
        return self.setting.options[key]

    def figure(self, name: str, *subplots, **kwargs):
        """`with results.figure("x.png", 1, 2, figsize=...) as (fig, axes):` draws and saves it atomically,
        and keeps the Figure in `drawn` (what a study returns to Python)."""
        return figure_at(self.out / name, *subplots, kept=self.drawn, **kwargs)


@dataclass
class Analysis:
    """A study's answer: the table (results.md), the finding (finding.md), its figures and the
    comparisons behind the finding (results.json)."""

    columns: list[str]
    rows: list[list[str]]
    finding: str
    figures: list[str] = field(default_factory=list)
    claims: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # printed under the table


@dataclass
class Measurement:
    """What a study's `measure` gets for one finished run: the trained model and its data."""

    run: Run
    seed: int
    run_dir: Path
    model: object  # the trained nn.Module, eval mode, on the CPU
    spec: dict  # its registry spec (create_from_spec rebuilds it)
    data: object  # the DataBundle it trained on (its train subset, the study's test subset)
    setting: Setting

    def fresh_model(self):
        """The same model as initialised before training (the Trainer seeds before it builds, then
        applies the run's `init`)."""
        import torch

        from ..layers import initialise
        from ..models import create_from_spec

        init = {**self.setting.config, **self.run.overrides}.get("init", "builder")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            return initialise(create_from_spec(self.spec), init)

    def normalise(self, images):
        """uint8 or pixel-unit float images -> the normalised floats the model was trained on."""
        import torch

        mean = torch.tensor(self.data.train.mean).view(1, -1, 1, 1)
        std = torch.tensor(self.data.train.std).view(1, -1, 1, 1)
        return (images.float() / 255.0 - mean) / std


@dataclass(frozen=True)
class Study:
    name: str
    summary: str  # one line, for `convzoo study list`
    question: str  # what the lecture claims and what we ask
    runs: tuple[Run, ...]
    quick: Setting
    full: Setting
    analyse: Callable[[Results], Analysis]
    measure: Callable[[Measurement], dict] | None = None  # extra numbers from each trained run
    data: str = "fashion-mnist"
    notes: str = ""  # what differs from the lecture's setting, and why

    def setting(self, name: str) -> Setting:
        return self.quick if name == QUICK else self.full

    def runs_for(self, setting: str) -> list[Run]:
        return [r for r in self.runs if setting in r.settings]
