"""The lectures' knobs as layers: activation, pooling and dropout chosen by name.

The `Literal` types are the one list of choices: the registry reads them from the builders'
annotations (`convzoo models lenet` shows them, `--model-arg activation=tanh` is checked against
them), and the factories below accept exactly those names.
"""

from __future__ import annotations

from typing import Literal, get_args

from torch import nn

from ..errors import ConvzooError
from .contrast import LocalContrastNorm

Activation = Literal["relu", "sigmoid", "tanh"]
Pooling = Literal["max", "avg"]
LocalNorm = Literal["none", "lrn", "lcn"]  # the slot where AlexNet and VGG's A-LRN normalise

_ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}
_POOLS: dict[str, type[nn.Module]] = {"max": nn.MaxPool2d, "avg": nn.AvgPool2d}
assert set(_ACTIVATIONS) == set(get_args(Activation)) and set(_POOLS) == set(get_args(Pooling))


def activation(name: Activation) -> nn.Module:
    """A new activation module: "relu", "sigmoid" or "tanh"."""
    if name not in _ACTIVATIONS:
        raise ConvzooError(f"activation must be one of {', '.join(_ACTIVATIONS)}, got {name!r}")
    return _ACTIVATIONS[name]()


def pool2d(kind: Pooling, kernel: int, stride: int | None = None, padding: int = 0,
           ceil_mode: bool = False) -> nn.Module:
    """Max or average pooling with the same geometry (average pooling counts padding as zeros)."""
    if kind not in _POOLS:
        raise ConvzooError(f"pooling must be one of {', '.join(_POOLS)}, got {kind!r}")
    return _POOLS[kind](kernel, stride, padding, ceil_mode=ceil_mode)


# Local response normalisation, b = a / (k + alpha/n * sum over n neighbouring channels of a^2)^beta
# (torch divides alpha by n). Krizhevsky et al. 2012 (sec. 3.3): k=2, n=5, alpha=1e-4 per channel,
# beta=0.75, hence alpha=5e-4 here; AlexNet and VGG's A-LRN use it. GoogLeNet's Caffe model: k=1,
# alpha=1e-4 over the window, beta=0.75 (Caffe also divides by n, as torch does).
LRN = {"krizhevsky": {"size": 5, "alpha": 5e-4, "beta": 0.75, "k": 2.0},
       "caffe": {"size": 5, "alpha": 1e-4, "beta": 0.75, "k": 1.0}}


def lrn(kind: str = "krizhevsky") -> nn.LocalResponseNorm:
    return nn.LocalResponseNorm(**LRN[kind])


def local_norm(kind: LocalNorm) -> list[nn.Module]:
    """The layer in a local normalisation slot: AlexNet's LRN (Krizhevsky's constants), Jarrett et
    al.'s local contrast normalisation (layers/contrast.py), or nothing."""
    if kind not in get_args(LocalNorm):
        raise ConvzooError(f"norm must be one of {', '.join(get_args(LocalNorm))}, got {kind!r}")
    return {"none": [], "lrn": [lrn("krizhevsky")], "lcn": [LocalContrastNorm()]}[kind]


def check_dropout(p: float) -> float:
    if not 0 <= p < 1:
        raise ConvzooError(f"dropout must be in [0, 1), got {p}")
    return p


def dropout(p: float) -> nn.Module:
    """`nn.Dropout(p)`, or `nn.Identity()` for p = 0: the same slot either way, so state_dict keys
    (and the positions of later layers) do not depend on whether dropout is on."""
    return nn.Dropout(check_dropout(p)) if p else nn.Identity()


def optional_dropout(p: float) -> list[nn.Module]:
    """`[nn.Dropout(p)]`, or nothing for p = 0: for networks published without dropout, whose
    default layout (and checkpoints) must not gain a slot."""
    return [nn.Dropout(check_dropout(p))] if p else []


def check_positive(option: str, *values: float) -> None:
    """Widths, channel counts, depths: a zero or negative one is a user error, not a torch crash."""
    if any(v <= 0 for v in values):
        shown = values[0] if len(values) == 1 else ",".join(map(str, values))
        raise ConvzooError(f"{option} must be positive, got {shown}")


def scaled(channels: int, width: float) -> int:
    """A channel count times a width multiplier (d2l's narrow VGG: 0.25), never below one channel."""
    return max(1, round(channels * width))
