"""A model to inspect from a registry name (untrained, on the meta device unless asked) or a
checkpoint reference, with the input shape it is inspected at."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ..errors import ConvzooError
from ..models import build_user_model, create_model, is_user_spec, list_models, model_info
from ..train.checkpoint import PRETRAINED, load_checkpoint, model_for_payload

USER_INPUT = (1, 28, 28)  # the lectures' images: a user model's input unless --input says otherwise


@dataclass
class Loaded:
    """A model ready to inspect, the input it takes (C, H, W), and where it came from."""

    model: nn.Module
    input_shape: tuple[int, int, int]
    label: str
    payload: dict | None = None  # the checkpoint, when the model is a trained one


def parse_input(text: str | None, default: tuple[int, int, int]) -> tuple[int, int, int]:
    """'1x28x28' -> (1, 28, 28); 'HxW' or 'H' keep the default channel count."""
    if not text:
        return tuple(default)
    try:
        dims = [int(d) for d in text.lower().replace("×", "x").split("x")]
    except ValueError:
        raise ConvzooError(f"--input {text!r}: expected CxHxW, e.g. 1x28x28") from None
    if len(dims) == 1:
        dims = dims * 2
    if len(dims) == 2:
        dims = [default[0], *dims]
    if len(dims) != 3 or min(dims) < 1:
        raise ConvzooError(f"--input {text!r}: expected CxHxW with positive sizes, e.g. 1x28x28")
    return tuple(dims)


def is_model_name(ref: str) -> bool:
    """A registry name (or an unknown name that looks like one) rather than a checkpoint."""
    path = Path(ref)
    looks_like_checkpoint = (path.exists() or ref in PRETRAINED or path.suffix == ".pt" or "/" in ref
                             or ref.startswith("zoo:"))
    return not is_user_spec(ref) and (ref in list_models() or not looks_like_checkpoint)


def load_model(ref: str, input_text: str | None = None, *, weights: bool = True,
               device: str = "cpu", code: str | None = None, model_args: list[str] | None = None) -> Loaded:
    """A registry name (untrained, at its registry input or `input_text`), the user's own model
    (`FILE.py:Class`, untrained, built with `model_args`), or a trained checkpoint (a file, a run
    directory or a pretrained name; input from its data shape; the user's own model needs `code`).

    `weights=False` builds the checkpoint's architecture without loading its weights: enough for
    shapes and counts, and cheap on the meta device.
    """
    if is_user_spec(ref):
        return _user_model(ref, input_text, device, model_args)
    if is_model_name(ref):
        info = model_info(ref)  # an unknown name fails here, with suggestions
        shape = parse_input(input_text, info.input_size)
        with torch.device(device):
            model = create_model(ref, in_channels=shape[0], input_size=shape[1:])
        return Loaded(model.eval(), shape, ref)
    payload = load_checkpoint(ref)
    with torch.device(device):
        model = model_for_payload(payload, ref, code=code, weights=weights)
    shape = parse_input(input_text, tuple(payload["data"]["shape"]))
    return Loaded(model.eval(), shape, f"{ref} ({payload['model']['name']})", payload)


def _user_model(spec: str, input_text: str | None, device: str, model_args: list[str] | None) -> Loaded:
    """The user's model, untrained. With `--input` its in_channels / input_size come from it (when
    the constructor takes them); without, the input is 28x28 with the first convolution's channels."""
    context = {}
    if input_text:
        shape = parse_input(input_text, USER_INPUT)
        context = {"in_channels": shape[0], "input_size": shape[1:]}
    with torch.device(device):
        model, record = build_user_model(spec, model_args, context=context)
    if not input_text:
        first = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
        size = record["kwargs"].get("input_size") or USER_INPUT[1:]
        size = (size, size) if isinstance(size, int) else tuple(size)
        shape = (first.in_channels if first is not None else USER_INPUT[0], *size)
    model.convzoo_spec = record
    return Loaded(model.eval(), shape, spec)
