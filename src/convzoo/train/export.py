"""Export a checkpoint for use outside convzoo's training code.

- ONNX: a dynamic batch dimension, the convzoo spec and data description in the model's metadata,
  checked with onnxruntime against torch on a random batch (the max abs difference is returned).
- checkpoint: a convzoo checkpoint without optimizer and RNG state (what ships as the pretrained
  `digits` and `fashion`), with a model card beside it (`<file>.json`).
- safetensors: the weights, plus a JSON config beside them (`<file>.json`: the `convzoo_spec`
  `create_from_spec` rebuilds the model from, and the data description with classes and
  normalisation); `load_safetensors` returns the model ready to use.

Everything is written atomically: a failed export leaves no partial file.
"""

from __future__ import annotations

import json
import logging
import warnings
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import torch

from ..atomic import atomic_path, write_json
from ..errors import ConvzooError
from .checkpoint import export_weights_checkpoint, load_checkpoint, model_from_checkpoint

FORMATS = ("onnx", "safetensors", "checkpoint")
ONNX_TOLERANCE = 1e-4  # max abs difference of the logits, fp32 torch vs onnxruntime
CONFIG_FORMAT = "convzoo-safetensors-config"


@dataclass
class Exported:
    path: Path
    config_path: Path | None = None
    max_abs_diff: float | None = None  # ONNX: onnxruntime vs torch on a random batch
    batch: int = 0


def export_config(spec: dict, data: dict) -> dict:
    return {"format": CONFIG_FORMAT, "version": 1, "model": spec, "data": data}


def export_onnx(checkpoint, path: str | Path, check_batch: int = 5, seed: int = 0) -> Exported:
    """Write `checkpoint` as ONNX (input `images`, (N, C, H, W) normalised floats; output `logits`)
    and check it with onnxruntime on a random batch of `check_batch` (not the export's batch size,
    so the dynamic batch is exercised)."""
    try:
        import onnx
        import onnxruntime
    except ImportError:
        raise ConvzooError("ONNX export needs onnx, onnxscript and onnxruntime: "
                           "pip install 'convzoo[export]'") from None
    model, payload = model_from_checkpoint(checkpoint)
    shape = tuple(payload["data"]["shape"])  # (C, H, W)
    example = torch.randn(2, *shape)
    path = Path(path)
    # The exporter's notes on its own internals (e.g. torchvision ops it skips) are not the user's business.
    logging.getLogger("torch.onnx._internal.exporter._registration").setLevel(logging.ERROR)
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(model, (example,), input_names=["images"], output_names=["logits"],
                                    dynamic_shapes=({0: torch.export.Dim("batch")},), dynamo=True,
                                    verbose=False)
        program.save(str(tmp))
        proto = onnx.load(str(tmp))
        meta = proto.metadata_props.add()
        meta.key, meta.value = "convzoo", json.dumps(export_config(payload["model"], payload["data"]))
        onnx.save(proto, str(tmp))
        x = torch.randn(check_batch, *shape, generator=torch.Generator().manual_seed(seed))
        session = onnxruntime.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])
        (ours,) = session.run(["logits"], {"images": x.numpy()})
        with torch.inference_mode():
            theirs = model(x).numpy()
        diff = float(np.abs(ours - theirs).max())
        if not diff <= ONNX_TOLERANCE:
            raise ConvzooError(f"ONNX export differs from torch by {diff:.3g} (> {ONNX_TOLERANCE}); "
                               "not written")
    return Exported(path, max_abs_diff=diff, batch=check_batch)


def config_path_for(path: str | Path) -> Path:
    return Path(path).with_suffix(".json")


def export_safetensors(checkpoint, path: str | Path) -> Exported:
    """Write the weights to `path` and the config to `<path without suffix>.json`."""
    from safetensors.torch import save_file

    model, payload = model_from_checkpoint(checkpoint)
    path = Path(path)
    config_path = config_path_for(path)
    if config_path == path:
        raise ConvzooError(f"{path}: use a .safetensors name (the config goes to {config_path.name})")
    config = export_config(payload["model"], payload["data"])
    tensors = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={"convzoo": json.dumps(config)})
    write_json(config_path, config)
    return Exported(path, config_path)


def load_safetensors(path: str | Path) -> tuple[torch.nn.Module, dict]:
    """(model in eval mode, config) from an `export_safetensors` file; the config comes from the
    JSON beside it, or from the file's own metadata when the JSON is missing."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file, safe_open

    from ..models import create_from_spec

    path = Path(path)
    if not path.is_file():
        raise ConvzooError(f"{path}: no such file")
    try:
        tensors = load_file(str(path))
        config_path = config_path_for(path)
        if config_path.is_file():
            config = json.loads(config_path.read_text())
        else:
            with safe_open(str(path), "pt") as f:
                config = json.loads((f.metadata() or {}).get("convzoo", "null"))
    except (SafetensorError, OSError, ValueError) as exc:
        raise ConvzooError(f"{path}: not a readable convzoo safetensors export ({exc})") from None
    if not isinstance(config, dict) or config.get("format") != CONFIG_FORMAT:
        raise ConvzooError(f"{path}: no convzoo config (expected {config_path_for(path).name} beside it)")
    model = create_from_spec(config["model"])
    try:
        model.load_state_dict(tensors)
    except RuntimeError as exc:
        name = config["model"]["name"]
        raise ConvzooError(f"{path}: weights do not fit {name} ({str(exc)[:120]})") from None
    return model.eval(), config


RECIPE_KEYS = ("epochs", "batch_size", "lr", "optimizer", "momentum", "nesterov", "weight_decay",
               "schedule", "warmup_epochs", "label_smoothing", "augment", "precision", "seed",
               "test_holdout", "val_split")


def held_out_description(config: dict, data: dict) -> str:
    if config.get("test_holdout"):
        return (f"{data['test']:,} examples of {data['name']}'s training files held out (seed "
                f"{config.get('seed', 0)}), never trained on")
    return f"{data['name']}'s test set ({data['test']:,} examples)"


def model_card(checkpoint, command: str | None = None) -> dict:
    """What a checkpoint is: model, data, recipe, the command, held-out accuracy (shipping adds
    the date)."""
    from ..models import count_parameters, create_from_spec

    payload = load_checkpoint(checkpoint)
    config, data, history = payload.get("config", {}), payload["data"], payload.get("history") or [{}]
    return {
        "model": payload["model"],
        "parameters": count_parameters(create_from_spec(payload["model"])),
        "data": {k: data.get(k) for k in ("name", "classes", "shape", "mean", "std", "train", "test",
                                          "notes")},
        "data_dir": config.get("data_dir"),
        "recipe": {k: config[k] for k in RECIPE_KEYS if k in config},
        "command": command,
        "epochs": payload.get("epoch"),
        "held_out_accuracy": history[-1].get("test_acc"),
        "held_out_loss": history[-1].get("test_loss"),
        "held_out": held_out_description(config, data),
        "torch": torch.__version__,
    }


def export_shipping_checkpoint(checkpoint, path: str | Path, command: str | None = None) -> Exported:
    """A weights-only checkpoint at `path` and its model card at `<path>.json`."""
    path = Path(path)
    card_path = config_path_for(path)
    if card_path == path:
        raise ConvzooError(f"{path}: use a .pt name (the model card goes to {card_path.name})")
    card = {**model_card(checkpoint, command), "date": date.today().isoformat()}
    export_weights_checkpoint(checkpoint, path)
    write_json(card_path, card)
    return Exported(path, card_path)


def default_output(checkpoint, fmt: str) -> Path:
    """`digits` -> digits.onnx; runs/lenet-x/ or runs/lenet-x/checkpoint.pt -> lenet-x.onnx."""
    ref = Path(str(checkpoint).rstrip("/"))
    name = ref.parent.name if ref.name == "checkpoint.pt" and ref.parent.name else ref.stem
    return Path(f"{name or 'model'}.{fmt}")


def export(checkpoint, fmt: str, path: str | Path | None = None, command: str | None = None) -> Exported:
    """Export `checkpoint` as `fmt` to `path` (default: NAME.onnx, NAME.safetensors or NAME.pt here)."""
    if fmt not in FORMATS:
        raise ConvzooError(f"unknown export format {fmt!r}; use {' or '.join(FORMATS)}")
    path = Path(path) if path else default_output(checkpoint, "pt" if fmt == "checkpoint" else fmt)
    if fmt == "checkpoint":
        return export_shipping_checkpoint(checkpoint, path, command)
    return export_onnx(checkpoint, path) if fmt == "onnx" else export_safetensors(checkpoint, path)
