"""A search grid from the command line: `--grid lr=0.05,0.2 --grid width=16,32` -> cells.

A key is a training setting (a TrainConfig field: lr, batch_size, weight_decay, epochs, augment,
...; `batch-size` and `batch_size` both work) or one of the model's builder options (the keys of
`--model-arg`, listed by `convzoo models NAME`). Values are comma-separated; a value that is itself a
list (hidden=120,84) takes `|` between values instead: `--grid "hidden=120,84|300,100"`. Every value
is parsed and checked when the grid is read, so a typo fails before any training.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass

from ..errors import ConvzooError, unknown_name

# Settings that say where and how a run happens, or which data it sees: the search owns these
# (the folds choose the data), so a grid over them would not be a model-selection question.
MAX_VALUES = 100  # values of one --grid key
MAX_CELLS = 1000  # cells trained (each K times): a larger grid is a typo or a job for --random
MAX_GRID = 10**9  # cells --random may draw from (ParameterSampler indexes the grid without listing it)
NOT_SEARCHABLE = ("model", "model_kwargs", "data", "data_dir", "train_size", "val_split", "test_holdout", "out",
                  "progress", "threads", "device", "dist_timeout", "seed", "deterministic")


@dataclass(frozen=True)
class Cell:
    """One point of the grid: TrainConfig overrides and model options."""

    settings: tuple[tuple[str, object], ...]
    model_kwargs: tuple[tuple[str, object], ...]

    @property
    def values(self) -> dict:
        """Every key of the cell (settings and model options) -> its value."""
        return {**dict(self.settings), **dict(self.model_kwargs)}

    @property
    def label(self) -> str:
        return ", ".join(f"{k}={_text(v)}" for k, v in self.values.items())

    @property
    def key(self) -> str:
        """A stable identity of the cell (what a resumed search matches its runs by)."""
        return json.dumps(self.values, sort_keys=True, default=list)


def _text(value) -> str:
    return ",".join(map(str, value)) if isinstance(value, (tuple, list)) else str(value)


def searchable_settings() -> list[str]:
    from ..train import TrainConfig

    return [f.name for f in dataclasses.fields(TrainConfig) if f.name not in NOT_SEARCHABLE]


def parse_grid(model: str, items: list[str]) -> dict[str, list]:
    """["lr=0.05,0.2", "batch_size=64,256"] -> {"lr": [0.05, 0.2], "batch_size": [64, 256]}, each value
    parsed as its setting's or model option's type and checked."""
    from ..models.userspec import options_of, parse_args_of
    from ..train.config import flag_name, parse_setting

    if not items:
        raise ConvzooError("--grid is empty: give at least one KEY=V1,V2,... (e.g. --grid lr=0.05,0.2)")
    settings, options = searchable_settings(), [o.name for o in options_of(model)]
    grid: dict[str, list] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip().lstrip("-").replace("-", "_")
        values = [v.strip() for v in text.split("|" if "|" in text else ",")]
        if len(values) > MAX_VALUES:
            raise ConvzooError(f"--grid {key.strip()} has {len(values):,} values; at most {MAX_VALUES} per key")
        if not sep or not key or not all(values):
            raise ConvzooError(f"--grid takes KEY=V1,V2,... (a value with commas: V1|V2), not {item!r}")
        if key in grid:
            raise ConvzooError(f"--grid names {key} twice; give all its values in one --grid")
        if key in settings and key in options:
            raise ConvzooError(f"--grid key {key} is both a training setting and a {model} option")
        if key in settings or key in options:
            try:
                grid[key] = [parse_setting(key, v) if key in settings else parse_args_of(model, [f"{key}={v}"])[key]
                             for v in values]
            except ConvzooError as exc:
                raise ConvzooError(f"--grid {key}: {exc}") from None
        elif key in NOT_SEARCHABLE:
            raise ConvzooError(f"--grid cannot vary {flag_name(key)}: the search decides the data and where runs "
                               "go; give it as a plain flag")
        else:
            raise unknown_name("--grid key (a training setting or a model option)", key, settings + options)
        if len(set(map(_text, grid[key]))) != len(grid[key]):
            raise ConvzooError(f"--grid {key} repeats a value: {text}")
    return grid


def cells_of(model: str, grid: dict[str, list], sample: int | None = None, seed: int = 0) -> list[Cell]:
    """Every cell of `grid` (scikit-learn's ParameterGrid, in its order), or `sample` of them drawn
    without replacement (ParameterSampler) when --random N is given."""
    from sklearn.model_selection import ParameterGrid, ParameterSampler

    from ..models.userspec import options_of

    options = {o.name for o in options_of(model)}
    # ParameterGrid sorts keys; keep the user's order for tables and the heat-map's axes.
    order = list(grid)
    total = math.prod(len(v) for v in grid.values())
    if total > (MAX_CELLS if sample is None else MAX_GRID):
        raise ConvzooError(f"the grid has {total:,} cells; at most {MAX_CELLS:,} are trained (--random N draws N "
                           f"of a grid of up to {MAX_GRID:,})")
    if sample is not None:
        if not 1 <= sample <= MAX_CELLS:
            raise ConvzooError(f"--random must be from 1 to {MAX_CELLS:,}, not {sample}")
        points = list(ParameterSampler(grid, min(sample, total), random_state=seed))
    else:
        points = list(ParameterGrid(grid))
    cells = []
    for point in points:
        settings = tuple((k, point[k]) for k in order if k not in options)
        kwargs = tuple((k, point[k]) for k in order if k in options)
        cells.append(Cell(settings, kwargs))
    return cells


def check_cell_models(model: str, cells: list[Cell], fixed_kwargs: dict, data: str) -> None:
    """Build every distinct model of the grid on the meta device (no memory, no data), so a model
    option no builder accepts (hidden=-5) fails before the first run trains. Skipped when the
    fixed options alone do not build here (the dataset's shape is only known once it loads)."""
    import torch

    from ..data import dataset_spec
    from ..models import create_model

    spec = dataset_spec(data)
    base = {"num_classes": len(spec.classes) or 2, "in_channels": spec.shape[0]}

    def build(kwargs):
        with torch.device("meta"):
            create_model(model, **base, **kwargs)

    try:
        build(fixed_kwargs)
    except Exception:  # noqa: BLE001 - not this check's business: the run reports it
        return
    seen = set()
    for cell in cells:
        kwargs = dict(cell.model_kwargs)
        key = json.dumps(kwargs, sort_keys=True, default=list)
        if key in seen:
            continue
        seen.add(key)
        try:
            build({**fixed_kwargs, **kwargs})
        except Exception as exc:  # noqa: BLE001 - any builder's refusal: the grid's value, not a bug here
            what = ", ".join(f"{k}={_text(v)}" for k, v in kwargs.items())
            why = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
            raise ConvzooError(f"--grid {what}: {model} cannot be built ({why})") from None
