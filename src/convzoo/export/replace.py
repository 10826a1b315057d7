"""Export writes over a file only if an export wrote it: `-o photo.png` or `-o FOLDER/results.safetensors`
(whose config would be FOLDER/results.json, a study's) must not cost the user a file.

A file is recognised as an export's by what each format records of convzoo inside it: the
safetensors header's `convzoo` metadata, the ONNX model's `convzoo` metadata entry, the config's
`format`, a model card's keys; a weights-only checkpoint by its model card beside it. Anything else
is refused in one line unless the user says --force.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

from ..errors import ConvzooError
from .common import CONFIG_FORMAT

CARD_KEYS = {"model", "parameters", "data", "held_out"}
MAX_HEADER = 100 * 1024 * 1024  # safetensors' own limit on its JSON header


def refuse_foreign(targets: list[tuple[Path, str]], force: bool) -> None:
    """Each (path, kind) that exists and is not an export's file of that kind is refused, unless `force`;
    kind is "onnx", "safetensors", "checkpoint" (a .pt with its card) or "json" (config or card)."""
    for path, kind in targets:
        if path.is_dir():
            raise ConvzooError(f"{path} is a folder; export writes a file (choose another -o)")
        if path.exists() and not force and not written_by_export(path, kind):
            raise ConvzooError(f"{path} exists and convzoo export did not write it; choose another -o, "
                               "or --force to replace it")


def written_by_export(path: Path, kind: str) -> bool:
    try:
        if kind == "json":
            if path.stat().st_size > MAX_HEADER:
                return False
            value = json.loads(path.read_text())
            return isinstance(value, dict) and (value.get("format") == CONFIG_FORMAT or CARD_KEYS <= set(value))
        if kind == "safetensors":
            with open(path, "rb") as f:
                (size,) = struct.unpack("<Q", f.read(8))
                header = json.loads(f.read(size)) if 0 < size <= MAX_HEADER else {}
            return isinstance(header, dict) and "convzoo" in (header.get("__metadata__") or {})
        if kind == "onnx":
            import onnx

            proto = onnx.load(str(path), load_external_data=False)
            return any(p.key == "convzoo" for p in proto.metadata_props)
        if kind == "checkpoint":
            return written_by_export(path.with_suffix(".json"), "json")
    except Exception:  # noqa: BLE001 - unreadable or another format altogether: not ours
        return False
    return False
