"""A shipping checkpoint: convzoo's checkpoint without optimizer and RNG state (what ships as the
pretrained `digits` and `fashion`), with a model card beside it (`<file>.json`)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import torch

from ..atomic import write_json
from ..errors import ConvzooError
from ..train.checkpoint import export_weights_checkpoint, load_checkpoint
from .common import Exported, config_path_for

RECIPE_KEYS = ("epochs", "batch_size", "lr", "optimizer", "momentum", "nesterov", "weight_decay",
               "schedule", "warmup_epochs", "label_smoothing", "class_balance", "augment", "precision", "seed",
               "test_holdout", "val_split")


def held_out_description(config: dict, data: dict) -> str:
    """Where the accuracy was measured; a checkpoint is someone's file, so a field may be missing."""
    name = data.get("name", "the dataset") if isinstance(data, dict) else "the dataset"
    count = data.get("test") if isinstance(data, dict) else None
    size = f"{count:,} examples" if isinstance(count, int) and not isinstance(count, bool) else "size not recorded"
    if isinstance(config, dict) and config.get("test_holdout"):
        return (f"{size} of {name}'s training files held out (seed {config.get('seed', 0)}), never trained on")
    return f"{name}'s test set ({size})"


def model_card(checkpoint, command: str | None = None, code: str | None = None) -> dict:
    """What a checkpoint is: model, data, recipe, the command, held-out accuracy (shipping adds
    the date)."""
    from ..models import count_parameters
    from ..train.checkpoint import model_for_payload

    payload = load_checkpoint(checkpoint)
    config, data, history = payload.get("config", {}), payload["data"], payload.get("history") or [{}]
    return {
        "model": payload["model"],
        "parameters": count_parameters(model_for_payload(payload, checkpoint, code=code, weights=False)),
        "data": {k: data.get(k) for k in ("name", "classes", "shape", "mean", "std", "train", "test",
                                          "notes")},
        "data_dir": config.get("data_dir"),
        "recipe": {k: config[k] for k in RECIPE_KEYS if k in config},
        "command": command,
        "epochs": payload.get("epoch"),
        "held_out_accuracy": history[-1].get("test_acc"),
        "held_out_loss": history[-1].get("test_loss"),
        # the run's final figure when it averaged views (TTA); `convzoo eval` reads the plain one above
        **({"held_out_tta_accuracy": history[-1]["tta_test_acc"]} if "tta_test_acc" in history[-1] else {}),
        **({"held_out_mean_iou": history[-1]["test_miou"]} if "test_miou" in history[-1] else {}),
        "held_out": held_out_description(config, data),
        "torch": torch.__version__,
    }


def export_shipping_checkpoint(checkpoint, path: str | Path, command: str | None = None,
                               code: str | None = None) -> Exported:
    """A weights-only checkpoint at `path` and its model card at `<path>.json`."""
    path = Path(path)
    card_path = config_path_for(path)
    if card_path == path:
        raise ConvzooError(f"{path}: use a .pt name (the model card goes to {card_path.name})")
    card = {**model_card(checkpoint, command, code=code), "date": date.today().isoformat()}
    export_weights_checkpoint(checkpoint, path)
    write_json(card_path, card)
    return Exported(path, card_path)
