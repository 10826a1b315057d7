"""safetensors: the weights, plus a JSON config beside them (`<file>.json`: the `convzoo_spec`
`create_from_spec` rebuilds the model from, and the data description with classes and
normalisation); `load_safetensors` returns the model ready to use."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from ..atomic import atomic_path, write_json
from ..errors import ConvzooError
from ..train.checkpoint import model_for_payload, model_from_checkpoint
from .common import CONFIG_FORMAT, Exported, config_path_for, export_config


def export_safetensors(checkpoint, path: str | Path, code: str | None = None) -> Exported:
    """Write the weights to `path` and the config to `<path without suffix>.json`."""
    from safetensors.torch import save_file

    model, payload = model_from_checkpoint(checkpoint, code=code)
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


def load_safetensors(path: str | Path, code: str | None = None) -> tuple[torch.nn.Module, dict]:
    """(model in eval mode, config) from an `export_safetensors` file; the config comes from the
    JSON beside it, or from the file's own metadata when the JSON is missing. The user's own model is
    rebuilt from `code` (FILE.py or package.module), never from a name the config holds."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file, safe_open

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
    model = model_for_payload({"model": config["model"], "state_dict": tensors}, path, code=code)
    return model.eval(), config
