"""The one model registry: `create_model`, `list_models`, `model_info`, `model_options`.

Every entry carries its metadata (paper, year, family, default input, expected parameter count);
the CLI's model table, the docs and the tests all read the same `ModelInfo`. An entry's builder
arguments are apart from it: `fixed`, the arguments that make the variant (checked against the
builder's signature at registration, so a misspelt key fails at import).

The lectures' knobs are the builders' keyword arguments. `model_options(name)` reads them from the
builder's signature and type annotations (models/options.py), with the entry's fixed arguments as
defaults; `parse_model_args(name, ["activation=tanh", ...])` turns the CLI's `--model-arg
KEY=VALUE` strings into keyword arguments by the same annotations.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Callable
from dataclasses import dataclass, field

from torch import nn

from ..errors import ConvzooError, unknown_name
from .options import (
    REQUIRED,
    Builder,
    ModelOption,
    builder_options,
    check_kwargs,
    choices_of,
    parse_option_pairs,
    signature_of,
)


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
    fixed: dict = field(default_factory=dict)  # builder arguments that make this variant
    # Builder options the Trainer adds when it builds the model to train it (an explicit option
    # wins), where the paper trains with a part it does not count or use at test time: GoogLeNet's
    # auxiliary classifiers.
    train_options: dict = field(default_factory=dict)


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
    train_options: dict | None = None,
    **fixed,
) -> Callable[[Builder], Builder]:
    """Register `builder(num_classes=, in_channels=, input_size=, **options)` under `name`.

    The decorator may be stacked to register several named variants of one builder; the keywords
    after the metadata are the variant's fixed builder arguments. Each must be a parameter of the
    builder (and a choice of its `Literal` type, if it has one): a ValueError at import otherwise.
    """

    def decorate(builder: Builder) -> Builder:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} registered twice")
        _check_fixed(name, builder, {**fixed, **(train_options or {})})
        _REGISTRY[name] = ModelInfo(
            name=name, family=family, paper=paper, year=year, input_size=tuple(input_size),
            num_classes=num_classes, params=params, min_size=min_size or input_size[1],
            builder=builder, note=note, small_input_stem=small_input_stem, fixed=dict(fixed),
            train_options=dict(train_options or {}),
        )
        return builder

    return decorate


def _check_fixed(name: str, builder: Builder, fixed: dict) -> None:
    params, hints, open_ended = signature_of(builder)
    for key, value in fixed.items():
        if key in REQUIRED:
            raise ValueError(f"model {name!r}: {key} is set by create_model, not fixed by an entry")
        if key not in params:
            if open_ended:
                continue
            close = difflib.get_close_matches(key, list(params), n=1, cutoff=0.5)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"model {name!r}: {builder.__name__}() has no parameter {key!r}{hint}")
        choices = choices_of(hints.get(key))
        if choices is not None and value not in choices:
            raise ValueError(f"model {name!r}: {key}={value!r} is not one of {choices}")


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


def model_options(name: str) -> list[ModelOption]:
    """The builder options of a registered model, in signature order, with this entry's defaults.

    Derived from the builder's signature and annotations, less num_classes, in_channels and
    input_size (create_model's own arguments); the entry's fixed arguments override the builder's
    defaults, so `lenet_modern` shows activation="relu" where `lenet` shows "sigmoid".
    """
    info = model_info(name)
    return builder_options(info.builder, info.fixed)


def parse_model_args(name: str, pairs: list[str]) -> dict:
    """`["activation=tanh", "hidden=120,84", "dropout=0.5"]` -> keyword arguments for create_model.

    Values are converted by the builder's annotations: bool (true/false, yes/no, on/off, 1/0), int,
    float, str, a Literal's choices, tuples as comma-separated values ("120,84"), and "none" where
    the type allows None. A later KEY overrides an earlier one. Mistakes (no "=", an unknown key, a
    value of the wrong type) raise a one-line ConvzooError naming the model and what is expected.
    Ranges (dropout in [0, 1), a buildable depth) are checked when the model is built.
    """
    return parse_option_pairs(name, model_options(name), pairs)


def create_model(
    name: str,
    num_classes: int | None = None,
    in_channels: int | None = None,
    input_size: int | tuple[int, int] | None = None,
    **kwargs,
) -> nn.Module:
    """Build a registered model.

    `input_size` (H or (H, W)) lets a model choose its small-input stem; it defaults to the
    paper's size. An input smaller than the model accepts is a user error, not a crash later;
    so are an unknown option, a value outside a Literal's choices and a value the builder cannot
    use (a dropout of 1.5, a CIFAR ResNet depth that is not 6n+2): all one-line ConvzooErrors.
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
    check_kwargs(info, kwargs)
    args = {**info.fixed, **kwargs}
    try:
        model = info.builder(num_classes=num_classes, in_channels=in_channels, input_size=input_size, **args)
    except ConvzooError as e:
        if str(e).startswith(name):
            raise
        raise type(e)(f"{name}: {e}") from None
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


