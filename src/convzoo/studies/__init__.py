"""The lectures' experiments as one command family: `convzoo study NAME`.

Each study is data (its module's `STUDY`): the table of runs it trains, a quick and a full
setting, and an `analyse` that turns the finished runs into a results table, figures and a short
finding with mean ± sd over seeds and a statement of whether each difference is beyond the noise.
One runner (runner.py) trains every run through the ordinary engine, resumes a half-finished
study, and writes the outputs.
"""

from __future__ import annotations

import importlib

from ..errors import unknown_name
from ..experiments.processes import parse_shard
from .base import Analysis, Measurement, Record, Results, Run, Setting, Study
from .runner import StudyResult, default_out, run_study

# In the order of the lectures.
NAMES = ("ablation", "depth", "activation", "dropout", "batchnorm", "norm", "kernel", "vgg", "invariance", "probes")


def get_study(name: str) -> Study:
    if name not in NAMES:
        raise unknown_name("study", name, list(NAMES))
    return importlib.import_module(f"{__name__}.{name}").STUDY


def list_studies() -> list[Study]:
    return [get_study(name) for name in NAMES]


def run(name: str, **options) -> StudyResult:
    """Run (or resume) the study `name`; see `run_study` for the options."""
    return run_study(get_study(name), **options)


__all__ = ["NAMES", "Analysis", "Measurement", "Record", "Results", "Run", "Setting", "Study", "StudyResult",
           "default_out", "get_study", "list_studies", "parse_shard", "run", "run_study"]
