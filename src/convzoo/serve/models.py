"""The models a demo server offers: pretrained names, the zoo, the runs of `--runs DIR`, an
explicit `--checkpoint`, or one module in memory (`LiveModel`: `convzoo.explore`, `convzoo demo
--model`); each loaded on first use and kept in a small LRU cache.

A model key is what the page and the API use: a pretrained or zoo name (`digits`, `zoo:googlenet`),
`run:RELATIVE/PATH` for a run under `--runs`, the checkpoint reference itself for `--checkpoint`,
or the live model's label.

A live model is served from a copy in eval mode whose weights are copied in from the module at
each request: a model training in the same process shows its current weights, and the server
never switches it out of training mode.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from .. import zoo  # its models for the picker; importing it registers `zoo:NAME` checkpoints
from ..errors import ConvzooError
from ..infer.describe import NO_DATA
from ..train.checkpoint import CHECKPOINT_NAME, PRETRAINED, resolve_checkpoint
from .runs import find_runs

MAX_LOADED = 4  # predictors (and their graphs) kept in memory; the least recently used goes first
DRAWN = {"mnist", "mnist-sample", "emnist", "kmnist"}  # datasets of pen strokes: a draw pad fits


@dataclass
class LiveModel:
    """A module in memory and what it reads (`infer.describe.describe_input`'s description)."""

    module: object  # nn.Module
    data: dict  # name, classes, shape, mean, std, task
    label: str
    examples: object = None  # an ArrayDataset whose first image of each class the page offers

    def entry(self) -> ModelEntry:
        return ModelEntry(self.label, f"{self.label} (in memory)", "", "memory", self)


@dataclass
class ModelEntry:
    key: str
    label: str
    ref: str  # what resolve_checkpoint takes
    source: str  # "checkpoint", "pretrained", "zoo", "run" or "memory"
    live: LiveModel | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        return {"key": self.key, "label": self.label, "source": self.source}


def zoo_models() -> list[ModelEntry]:
    """The zoo models whose weights load now (`convzoo.zoo.shipped_models`), as `zoo:NAME`."""

    return [ModelEntry(m["ref"], f"zoo: {m['name']} ({m['data']})", m["ref"], "zoo") for m in zoo.shipped_models()]


def available_models(checkpoint: str | None = None, runs: str | Path | None = None) -> list[ModelEntry]:
    """Every model the picker offers, `checkpoint` first (the default), then the installed pretrained
    models, the zoo, and every run under `runs` that has a checkpoint."""
    entries: list[ModelEntry] = []
    if checkpoint is not None:
        resolve_checkpoint(checkpoint)  # an unknown reference fails at start, in one line
        entries.append(ModelEntry(str(checkpoint), f"{checkpoint}", str(checkpoint), "checkpoint"))
    for name in PRETRAINED:
        try:
            resolve_checkpoint(name)
        except ConvzooError:
            continue  # not installed: serve without it
        entries.append(ModelEntry(name, name, name, "pretrained"))
    entries += zoo_models()
    if runs is not None:
        for run in find_runs(runs):
            if (run.path / CHECKPOINT_NAME).is_file():
                entries.append(ModelEntry(f"run:{run.name}", f"run {run.name}", str(run.path), "run"))
    seen, unique = set(), []
    for e in entries:
        if e.key not in seen and not (e.source == "pretrained" and e.ref == checkpoint):
            seen.add(e.key)
            unique.append(e)
    if not unique:
        raise ConvzooError("no model to serve: pass --checkpoint, or --runs with a trained run "
                           "(no pretrained weights are installed)")
    return unique


@dataclass
class Served:
    """A loaded model: its predictor, the input widget that fits its data, its graph on demand."""

    entry: ModelEntry
    predictor: object
    _graph: object = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    lock: threading.Lock = field(default_factory=threading.Lock)  # one forward pass at a time per model

    @property
    def widget(self) -> str:
        p = self.predictor
        if p.task == "segmentation":
            return "scene"
        drawn = p.data["name"] in DRAWN or (p.data["name"] == NO_DATA and p.channels == 1)
        return "draw" if drawn else "upload"

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return (self.predictor.channels, *self.predictor.size)

    def graph(self):
        """(LayerGraph, receptive fields by node id), traced once per loaded model."""
        with self._lock:
            if self._graph is None:
                from ..analysis.graph import layer_graph

                self._graph = layer_graph(self.predictor.model, self.input_shape, self.entry.label)
            return self._graph

    def sync(self) -> None:
        """A live model's current weights into the copy that is served."""
        if self.entry.live is not None:
            with self.lock:
                self.predictor.model.load_state_dict(self.entry.live.module.state_dict())

    def info(self) -> dict:
        p = self.predictor
        return {"model": self.entry.key, "label": self.entry.label, "source": self.entry.source,
                "classes": p.classes, "card": p.card, "widget": self.widget, "task": p.task,
                "data": p.data["name"], "input_shape": list(self.input_shape)}


class ModelStore:
    """Model key -> Served, loaded lazily; at most `capacity` loaded at once."""

    def __init__(self, entries: list[ModelEntry], capacity: int = MAX_LOADED):
        self.entries = {e.key: e for e in entries}
        self.default = entries[0].key
        self.capacity = max(1, capacity)
        self._loaded: OrderedDict[str, Served] = OrderedDict()
        self._lock = threading.Lock()

    def entry(self, key: str | None) -> ModelEntry:
        key = key or self.default
        if key not in self.entries:
            raise ConvzooError(f"unknown model {key!r}; this server has {', '.join(self.entries)}")
        return self.entries[key]

    def get(self, key: str | None) -> Served:
        entry = self.entry(key)
        with self._lock:
            served = self._loaded.get(entry.key)
            if served is not None:
                self._loaded.move_to_end(entry.key)
        if served is not None:
            served.sync()
            return served
        served = Served(entry, _predictor(entry))  # loads outside the lock: others keep serving
        with self._lock:
            served = self._loaded.setdefault(entry.key, served)
            self._loaded.move_to_end(entry.key)
            while len(self._loaded) > self.capacity:
                self._loaded.popitem(last=False)
        return served

    def listing(self) -> list[dict]:
        return [e.to_dict() for e in self.entries.values()]


def _predictor(entry: ModelEntry):
    from ..infer import Predictor

    live = entry.live
    if live is None:
        return Predictor(entry.ref)
    try:
        served = copy.deepcopy(live.module).cpu().eval()
    except Exception as exc:  # noqa: BLE001 - a module that cannot be copied is the user's to fix
        raise ConvzooError(f"{live.label}: cannot copy the model to serve it ({type(exc).__name__}: {exc})") from None
    predictor = Predictor.from_model(served, live.data, live.data.get("task", "classification"))
    data = live.data["name"]
    reads = f"input {'x'.join(map(str, live.data['shape']))}" + (" (guessed: no data given)" if data == NO_DATA
                                                                 else f" as {data}")
    predictor.card = {"in_memory": True, "model": live.label, "reads": reads,
                      "parameters": sum(p.numel() for p in served.parameters())}
    return predictor
