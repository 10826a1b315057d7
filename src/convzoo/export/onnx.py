"""ONNX: a dynamic batch dimension, the convzoo spec and data description in the model's metadata,
checked with onnxruntime against torch on a random batch (the max abs difference is returned)."""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path

import numpy as np
import torch

from ..atomic import atomic_path
from ..errors import ConvzooError
from ..train.checkpoint import model_from_checkpoint
from .common import Exported, export_config

ONNX_TOLERANCE = 1e-4  # max abs difference of the logits, fp32 torch vs onnxruntime


def export_onnx(checkpoint, path: str | Path, check_batch: int = 5, seed: int = 0, code: str | None = None) -> Exported:
    """Write `checkpoint` as ONNX (input `images`, (N, C, H, W) normalised floats; output `logits`)
    and check it with onnxruntime on a random batch of `check_batch` (not the export's batch size,
    so the dynamic batch is exercised)."""
    try:
        import onnx
        import onnxruntime
    except ImportError:
        raise ConvzooError("ONNX export needs onnx, onnxscript and onnxruntime: "
                           "pip install 'convzoo[export]'") from None
    model, payload = model_from_checkpoint(checkpoint, code=code)
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
