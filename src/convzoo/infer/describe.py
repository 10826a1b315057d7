"""What a model in memory reads, described as a checkpoint describes its data (`DataBundle.describe()`:
name, classes, shape, mean, std, task), so a module that never saw a checkpoint can be used and
inspected (`convzoo.explore`, `convzoo demo --model`).

The data may be named (a catalog dataset: its files are not needed), given (a DataBundle, an
ArrayDataset, or a description), or left out: then the input is guessed from the first layer (a
convolution's channels at the first of GUESS_SIZES the model accepts) and the classes are the
output's indices. The model's output is checked against the data in one line.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..data import DataBundle, dataset_spec
from ..data.datasets import ArrayDataset
from ..errors import ConvzooError

GUESS_SIZES = (28, 32, 64, 96, 128, 224)  # square inputs tried, in order, when none is given
NO_DATA = "none"  # the data name of a model explored without data


def describe_input(model: nn.Module, data=None, input_shape=None, label: str = "model") -> dict:
    """The data description for `model`, checked by one forward pass."""
    if isinstance(data, str):
        spec = dataset_spec(data)
        found = {"name": spec.name, "classes": list(spec.classes), "shape": list(spec.shape),
                 "mean": list(spec.mean), "std": list(spec.std), "task": spec.task}
    elif isinstance(data, DataBundle):
        found = data.describe()
    elif isinstance(data, ArrayDataset):
        found = {"name": "in-memory", "classes": list(data.classes), "shape": list(data.shape),
                 "mean": list(data.mean), "std": list(data.std), "task": data.task}
    elif isinstance(data, dict):
        found = dict(data)
    elif data is None:
        return _guessed(model, input_shape, label)
    else:
        raise ConvzooError(f"data={type(data).__name__}: give a dataset name, a DataBundle, an ArrayDataset "
                           "or None")
    if input_shape is not None:
        found["shape"] = list(input_shape)
    _check_output(model, found, label)
    return found


def _forward(model: nn.Module, shape) -> torch.Tensor:
    """The output for one zero input, without touching the model's mode or its gradients."""
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    was_training = model.training
    try:
        with torch.no_grad(), torch.random.fork_rng(devices=[]):
            out = model.eval()(torch.zeros(1, *shape, device=device))
    finally:
        model.train(was_training)
    while isinstance(out, (tuple, list)):  # auxiliary heads: the main output is first
        out = out[0]
    return out


def _check_output(model: nn.Module, found: dict, label: str) -> None:
    shape, classes = found["shape"], found["classes"]
    size = "x".join(map(str, shape))
    try:
        out = _forward(model, shape)
    except RuntimeError as exc:
        raise ConvzooError(f"{label}: a {size} input ({found['name']}) does not fit "
                           f"({str(exc).splitlines()[0][:150]})") from None
    segmentation = found.get("task") == "segmentation"
    wanted = (1, len(classes), *shape[1:]) if segmentation else (1, len(classes))
    if tuple(out.shape) != wanted:
        what = "one score per class and pixel" if segmentation else "one score per class"
        raise ConvzooError(f"{label}: its output is {tuple(out.shape)} for a {size} input; {found['name']} "
                           f"needs {wanted} ({what}, {len(classes)} classes)")


def first_layer_channels(model: nn.Module) -> tuple[int, int | None]:
    """(input channels, the side of a square image a first dense layer reads, if it is one)."""
    for m in model.modules():
        if isinstance(m, nn.modules.conv._ConvNd):
            return m.in_channels, None
        if isinstance(m, nn.Linear):
            side = math.isqrt(m.in_features)
            return 1, side if side * side == m.in_features else None
    return 1, None


def _guessed(model: nn.Module, input_shape, label: str) -> dict:
    channels, side = first_layer_channels(model)
    candidates = [tuple(input_shape)] if input_shape is not None else \
        [(channels, s, s) for s in ((side,) if side else GUESS_SIZES)]
    for shape in candidates:
        try:
            out = _forward(model, shape)
        except RuntimeError as exc:
            if input_shape is not None:
                raise ConvzooError(f"{label}: a {'x'.join(map(str, shape))} input does not fit "
                                   f"({str(exc).splitlines()[0][:150]})") from None
            continue
        if out.ndim not in (2, 4):
            raise ConvzooError(f"{label}: its output is {tuple(out.shape)}; a classifier gives (N, classes), "
                               "a segmentation model (N, classes, H, W)")
        return {"name": NO_DATA, "classes": [str(k) for k in range(out.shape[1])], "shape": list(shape),
                "mean": [0.5] * shape[0], "std": [0.5] * shape[0],
                "task": "classification" if out.ndim == 2 else "segmentation"}
    tried = ", ".join(f"{channels}x{s}x{s}" for s in GUESS_SIZES)
    raise ConvzooError(f"{label}: no input size fits it (tried {tried}); pass input_shape=(C, H, W) or data=")
