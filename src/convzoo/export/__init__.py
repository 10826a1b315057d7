"""Export a checkpoint for use outside convzoo's training code: ONNX (`onnx`), weights plus config
(`weights`: safetensors), or a shipping checkpoint with its model card (`card`).

Everything is written atomically: a failed export leaves no partial file.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ConvzooError
from .card import export_shipping_checkpoint, model_card
from .common import Exported, config_path_for, export_config
from .onnx import export_onnx
from .replace import refuse_foreign
from .weights import export_safetensors, load_safetensors

FORMATS = ("onnx", "safetensors", "checkpoint")

__all__ = ["FORMATS", "Exported", "config_path_for", "export", "export_config", "export_onnx",
           "export_safetensors", "export_shipping_checkpoint", "load_safetensors", "model_card"]


def default_output(checkpoint, fmt: str) -> Path:
    """`digits` -> digits.onnx; runs/lenet-x/ or runs/lenet-x/checkpoint.pt -> lenet-x.onnx."""
    ref = Path(str(checkpoint).rstrip("/"))
    name = ref.parent.name if ref.name == "checkpoint.pt" and ref.parent.name else ref.stem
    return Path(f"{name or 'model'}.{fmt}")


def export(checkpoint, fmt: str, path: str | Path | None = None, command: str | None = None,
           code: str | None = None, force: bool = False) -> Exported:
    """Export `checkpoint` as `fmt` to `path` (default: NAME.onnx, NAME.safetensors or NAME.pt here);
    `code` rebuilds the user's own model (--code FILE.py). A file there (or at its config's or card's
    place) that an export did not write is refused unless `force` (replace.py)."""
    if fmt not in FORMATS:
        raise ConvzooError(f"unknown export format {fmt!r}; use {' or '.join(FORMATS)}")
    path = Path(path) if path else default_output(checkpoint, "pt" if fmt == "checkpoint" else fmt)
    beside = [] if fmt == "onnx" or config_path_for(path) == path else [(config_path_for(path), "json")]
    refuse_foreign([(path, fmt), *beside], force)
    if fmt == "checkpoint":
        return export_shipping_checkpoint(checkpoint, path, command, code=code)
    if fmt == "onnx":
        return export_onnx(checkpoint, path, code=code)
    return export_safetensors(checkpoint, path, code=code)
