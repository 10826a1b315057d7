"""What every export format shares: the result record and the config that rebuilds the model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CONFIG_FORMAT = "convzoo-safetensors-config"


@dataclass
class Exported:
    path: Path
    config_path: Path | None = None
    max_abs_diff: float | None = None  # ONNX: onnxruntime vs torch on a random batch
    batch: int = 0


def export_config(spec: dict, data: dict) -> dict:
    return {"format": CONFIG_FORMAT, "version": 1, "model": spec, "data": data}


def config_path_for(path: str | Path) -> Path:
    return Path(path).with_suffix(".json")
