"""Checkpoints: plain tensors and dicts that load with `weights_only=True`, written atomically.

A checkpoint carries everything needed to rebuild and use the model (its registry spec, the
data description with classes and normalisation) and to resume training exactly (optimizer,
step, RNG states, the metric history).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import torch

from ..atomic import atomic_path, clean_stale_temporaries
from ..errors import ConvzooError

FORMAT = "convzoo-checkpoint"
VERSION = 1
CHECKPOINT_NAME = "checkpoint.pt"
PRETRAINED_DIR = Path(__file__).resolve().parent.parent / "pretrained"
PRETRAINED = {"digits": "digits.pt", "fashion": "fashion.pt", "scenes": "scenes.pt"}


def save_checkpoint(path: str | Path, payload: dict) -> Path:
    payload = {"format": FORMAT, "version": VERSION, **payload}
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return Path(path)


# Checkpoint names with a prefix (`zoo:NAME`) belong to a layer above this one, which registers
# how to find their files when it is imported (the zoo: zoo/store.py); the CLI, the demo and
# `convzoo.zoo` itself import it. A hook, not an import: the engine does not know the zoo.
PREFIX_RESOLVERS: dict[str, Callable[[str], Path]] = {}


def register_checkpoint_prefix(prefix: str, resolve: Callable[[str], Path]) -> None:
    """`resolve(name)` finds the file of checkpoint `prefix + name` (or raises ConvzooError)."""
    PREFIX_RESOLVERS[prefix] = resolve


def resolve_checkpoint(ref: str | Path) -> Path:
    """A checkpoint file from a path, a run directory, a pretrained name (`digits`, `fashion`) or a
    registered prefix's name (`zoo:NAME`: its safetensors weights, shipped or fetched; see `convzoo zoo`)."""
    for prefix, resolve in PREFIX_RESOLVERS.items():
        if str(ref).startswith(prefix):
            return resolve(str(ref)[len(prefix):])
    if str(ref).startswith("zoo:"):
        raise ConvzooError(f"{ref}: zoo names need the zoo: `import convzoo.zoo` first (the CLI does)")
    path = Path(ref)
    if str(ref) in PRETRAINED and not path.exists():
        path = PRETRAINED_DIR / PRETRAINED[str(ref)]
        if not path.is_file():
            raise ConvzooError(f"pretrained weights {ref!r} are not installed ({path} missing)")
        return path
    if path.is_dir():
        path = path / CHECKPOINT_NAME
    if path.parent.is_dir():
        clean_stale_temporaries(path.parent)  # what a killed checkpoint write left in the run directory
    if not path.is_file():
        hint = f" (pretrained names: {', '.join(PRETRAINED)}; zoo models: zoo:NAME)" if not path.suffix else ""
        raise ConvzooError(f"{ref}: no such checkpoint{hint}")
    return path


def load_checkpoint(ref: str | Path, map_location="cpu") -> dict:
    path = resolve_checkpoint(ref)
    if path.suffix == SAFETENSORS:
        return _safetensors_payload(path, map_location)
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure to parse a user's file is a user error
        why = ("it holds objects other than tensors and plain containers" if "Weights only" in str(exc)
               else "not a PyTorch file, or truncated")
        raise ConvzooError(f"{path}: not a convzoo checkpoint ({why})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ConvzooError(f"{path}: not a convzoo checkpoint (no convzoo header)")
    if payload.get("version", 0) > VERSION:
        raise ConvzooError(f"{path}: checkpoint version {payload['version']} is newer than this convzoo")
    return payload


SAFETENSORS = ".safetensors"


def _safetensors_payload(path: Path, map_location="cpu") -> dict:
    """A safetensors export (a zoo model, `convzoo export --format safetensors`) as a checkpoint
    that predicts and evaluates: the weights, and from the JSON beside them the model spec and
    data (with a zoo card also the run's config, setup and card); the history from
    `<name>.metrics.jsonl` when it is there."""
    import json

    from safetensors import SafetensorError
    from safetensors.torch import load_file

    config_path = path.with_suffix(".json")
    try:
        config = json.loads(config_path.read_text())
        state = load_file(str(path), device=str(map_location))
    except (OSError, ValueError, SafetensorError) as exc:
        raise ConvzooError(f"{path}: not a readable convzoo safetensors export with {config_path.name} beside it "
                           f"({str(exc).splitlines()[0][:120]})") from None
    if not isinstance(config, dict) or config.get("format") != "convzoo-safetensors-config":
        raise ConvzooError(f"{config_path}: not a convzoo safetensors config")
    _check_card(config, config_path)
    metrics = path.with_name(path.name.removesuffix(SAFETENSORS) + ".metrics.jsonl")
    try:
        history = [json.loads(line) for line in metrics.read_text().splitlines() if line.strip()] \
            if metrics.is_file() else []
    except (OSError, ValueError) as exc:
        raise ConvzooError(f"{metrics}: not JSON lines ({exc})") from None
    if not all(isinstance(row, dict) for row in history):
        raise ConvzooError(f"{metrics}: not a run's metrics (each line an object)")
    extra = {k: config[k] for k in ("config", "setup", "epoch", "card") if k in config}
    return {"format": FORMAT, "version": VERSION, "model": config["model"], "data": config["data"],
            "task": "classification", "state_dict": state, "history": history, **extra}


def _check_card(config: dict, path: Path) -> None:
    """A card or config is someone else's data: the model spec, the classes and the shape must be
    there and agree (a card naming 3 classes for 10 outputs would label answers wrongly)."""
    model, data = config.get("model"), config.get("data")
    classes = data.get("classes") if isinstance(data, dict) else None
    shape = data.get("shape") if isinstance(data, dict) else None
    if not (isinstance(model, dict) and isinstance(model.get("name"), str) and isinstance(classes, list) and classes
            and all(isinstance(c, str) for c in classes) and isinstance(shape, list) and len(shape) == 3
            and all(isinstance(v, int) and 0 < v <= 4096 for v in shape)):
        raise ConvzooError(f"{path}: not a model card (a model spec, data classes and shape)")
    outputs = model.get("num_classes", model.get("kwargs", {}).get("num_classes") if isinstance(
        model.get("kwargs"), dict) else None)
    if isinstance(outputs, int) and outputs != len(classes):
        raise ConvzooError(f"{path}: names {len(classes)} classes for a model of {outputs} outputs")


def custom_model_spec(model) -> dict:
    """What a checkpoint records of a model that is not in the registry: its class by name and, when
    the class comes from a file, that file's name and SHA-256 (for `--code FILE.py` to rebuild it)."""
    from ..models.userspec import model_record

    return model_record(model)


def model_from_checkpoint(ref: str | Path, map_location="cpu", model=None, code: str | None = None):
    """(model in eval mode with its weights, the checkpoint payload). A checkpoint of the user's own
    model is rebuilt only from the code the user names (`code`: FILE.py or package.module, the
    CLI's `--code`), or loaded into `model=` (built as it was trained)."""
    payload = load_checkpoint(ref, map_location)
    return model_for_payload(payload, ref, model=model, code=code).eval(), payload


def model_for_payload(payload: dict, ref, *, model=None, code: str | None = None, weights: bool = True):
    """The one way from a checkpoint payload to a model (every command that takes a checkpoint comes
    here): a registry model by its spec; the user's own model from `code` only, never from a name
    the payload holds (a checkpoint is data: it imports nothing); or `model` as given.
    `weights=False` builds the architecture only."""
    from ..models import create_from_spec
    from ..models.userspec import rebuild_from_record

    spec = payload["model"]
    state = payload["state_dict"] if weights else None
    if model is None and spec.get("custom"):
        if code is None:
            raise ConvzooError(f"{ref} holds your own model ({_described(spec)}): add --code {_code_hint(spec)} "
                               "to rebuild it from your code (convzoo imports nothing a checkpoint names; "
                               "from Python: model=YourModel(...))")
        model, notes = rebuild_from_record(spec, code, state)
        for note in notes:
            print(f"convzoo: warning: {note}", file=sys.stderr)
        model.convzoo_spec = spec
        return model
    if model is None:
        model = create_from_spec(spec)
    if state is not None:
        try:
            model.load_state_dict(state)
        except (RuntimeError, KeyError) as exc:
            first = str(exc).strip().splitlines()[0][:120]
            raise ConvzooError(f"{ref}: weights do not fit {spec['name']} ({first})") from None
    return model


def _described(spec: dict) -> str:
    return str(spec.get("spec") or spec.get("class") or spec.get("name"))[:120]


def _code_hint(spec: dict) -> str:
    """The file the record names (shown, never opened): FILE.py, else a placeholder."""
    where = str(spec.get("spec") or "").rpartition(":")[0] or str(spec.get("file") or "")
    return where if where and where.isprintable() and len(where) < 200 else "FILE.py:Class"


TRAINING_ONLY = ("optimizer", "rng", "train_state_dict")  # what resuming needs and using does not (the last:
# the optimised weights under an average of them, which is what predicts)


def export_weights_checkpoint(ref: str | Path, dest: str | Path, **extra) -> Path:
    """Copy checkpoint `ref` to `dest` without the optimizer and RNG states (a checkpoint to ship,
    a fraction of the size; it predicts and evaluates but cannot resume). `extra` is added."""
    payload = {k: v for k, v in load_checkpoint(ref).items() if k not in TRAINING_ONLY}
    return save_checkpoint(dest, {**payload, **extra})
