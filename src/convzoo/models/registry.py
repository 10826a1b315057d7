"""The one model registry: `create_model`, `list_models`, `model_info`.

Every entry carries its metadata (paper, year, family, default input, expected parameter count);
the CLI's model table, the docs and the tests all read the same `ModelInfo`.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass, field

from torch import nn

from ..errors import ConvzooError, unknown_name

Builder = Callable[..., nn.Module]


@dataclass(frozen=True)
class ModelInfo:
    name: str
    family: str
    paper: str
    year: int
    input_size: tuple[int, int, int]  # (C, H, W) the paper's input; the default for create_model
    num_classes: int  # the paper's class count; `params` is counted with it and `input_size`
    params: int  # expected trainable + non-trainable parameter count at the defaults above
    min_size: int  # smallest accepted H (= W) with the model's automatic stem choice
    builder: Builder = field(repr=False, compare=False)
    note: str = ""  # how this differs from the paper, and why
    small_input_stem: bool = False  # a documented stem for 28x28 / 32x32 inputs exists
    defaults: dict = field(default_factory=dict)  # extra builder arguments fixed by this entry


_REGISTRY: dict[str, ModelInfo] = {}


def register_model(
    name: str,
    *,
    family: str,
    paper: str,
    year: int,
    input_size: tuple[int, int, int],
    num_classes: int,
    params: int,
    min_size: int | None = None,
    note: str = "",
    small_input_stem: bool = False,
    **defaults,
) -> Callable[[Builder], Builder]:
    """Register `builder(num_classes=, in_channels=, input_size=, **kwargs)` under `name`.

    The decorator may be stacked to register several named variants of one builder; each
    variant's fixed arguments go in `defaults`.
    """

    def decorate(builder: Builder) -> Builder:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} registered twice")
        _REGISTRY[name] = ModelInfo(
            name=name, family=family, paper=paper, year=year, input_size=tuple(input_size),
            num_classes=num_classes, params=params, min_size=min_size or input_size[1],
            builder=builder, note=note, small_input_stem=small_input_stem, defaults=dict(defaults),
        )
        return builder

    return decorate


def list_models(pattern: str | None = None) -> list[str]:
    """Registered names, sorted; `pattern` is a shell glob (`resnet*`) or a substring."""
    names = sorted(_REGISTRY)
    if not pattern:
        return names
    if any(ch in pattern for ch in "*?["):
        return [n for n in names if fnmatch.fnmatch(n, pattern)]
    return [n for n in names if pattern in n]


def model_info(name: str) -> ModelInfo:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise unknown_name("model", name, list(_REGISTRY)) from None


def create_model(
    name: str,
    num_classes: int | None = None,
    in_channels: int | None = None,
    input_size: int | tuple[int, int] | None = None,
    **kwargs,
) -> nn.Module:
    """Build a registered model.

    `input_size` (H or (H, W)) lets a model choose its small-input stem; it defaults to the
    paper's size. An input smaller than the model accepts is a user error, not a crash later.
    """
    info = model_info(name)
    num_classes = info.num_classes if num_classes is None else num_classes
    in_channels = info.input_size[0] if in_channels is None else in_channels
    if input_size is None:
        input_size = info.input_size[1:]
    elif isinstance(input_size, int):
        input_size = (input_size, input_size)
    input_size = tuple(input_size)
    if num_classes < 1 or in_channels < 1:
        raise ConvzooError(f"{name}: num_classes and in_channels must be positive")
    if min(input_size) < info.min_size:
        raise ConvzooError(
            f"{name} needs inputs of at least {info.min_size}x{info.min_size}, got "
            f"{input_size[0]}x{input_size[1]}"
        )
    args = {**info.defaults, **kwargs}
    model = info.builder(num_classes=num_classes, in_channels=in_channels, input_size=input_size, **args)
    # What create_model needs to rebuild this exact model (checkpoints and exports carry it).
    model.convzoo_spec = {
        "name": name, "num_classes": num_classes, "in_channels": in_channels,
        "input_size": list(input_size), "kwargs": kwargs,
    }
    return model


def create_from_spec(spec: dict) -> nn.Module:
    """Rebuild a model from the `convzoo_spec` a checkpoint or export carries."""
    return create_model(
        spec["name"], num_classes=spec["num_classes"], in_channels=spec["in_channels"],
        input_size=tuple(spec["input_size"]), **spec.get("kwargs", {}),
    )


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
