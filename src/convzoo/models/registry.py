"""The one model registry: `create_model`, `list_models`, `model_info`, `model_options`.

Every entry carries its metadata (paper, year, family, default input, expected parameter count);
the CLI's model table, the docs and the tests all read the same `ModelInfo`. An entry's builder
arguments are apart from it: `fixed`, the arguments that make the variant (checked against the
builder's signature at registration, so a misspelt key fails at import).

The lectures' knobs are the builders' keyword arguments. `model_options(name)` reads them from the
builder's signature and type annotations (a `Literal[...]` annotation is the list of choices; the
builder's docstring "Args:" section is the help), with the entry's fixed arguments as defaults;
`parse_model_args(name, ["activation=tanh", ...])` turns the CLI's `--model-arg KEY=VALUE` strings
into keyword arguments by the same annotations.
"""

from __future__ import annotations

import difflib
import fnmatch
import functools
import inspect
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field

from torch import nn

from ..errors import ConvzooError, unknown_name

Builder = Callable[..., nn.Module]
# Filled by create_model from its own arguments: not options, and never fixed by an entry.
REQUIRED = ("num_classes", "in_channels", "input_size")
TRUE, FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")


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


@dataclass(frozen=True)
class ModelOption:
    """One builder keyword argument, as `convzoo models NAME` shows it."""

    name: str
    type: str  # "bool", "int", "float", "str", "relu|sigmoid|tanh", "int,int,...", "int|none", ...
    default: object  # the entry's value: its fixed argument, else the builder's default
    choices: tuple | None  # the values of a Literal annotation, else None
    help: str = ""  # from the builder's docstring "Args:" section
    annotation: object = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict:
        return {"name": self.name, "type": self.type, "default": _plain(self.default),
                "choices": list(self.choices) if self.choices is not None else None, "help": self.help}


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
    params, hints, open_ended = _signature(builder)
    for key, value in fixed.items():
        if key in REQUIRED:
            raise ValueError(f"model {name!r}: {key} is set by create_model, not fixed by an entry")
        if key not in params:
            if open_ended:
                continue
            close = difflib.get_close_matches(key, list(params), n=1, cutoff=0.5)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"model {name!r}: {builder.__name__}() has no parameter {key!r}{hint}")
        choices = _choices(hints.get(key))
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
    params, hints, _ = _signature(info.builder)
    helps = _doc_help(info.builder)
    options = []
    for key, param in params.items():
        annotation = hints.get(key, param.annotation)
        default = info.fixed.get(key, None if param.default is param.empty else param.default)
        options.append(ModelOption(key, _describe(annotation), default, _choices(annotation),
                                   helps.get(key, ""), annotation))
    return options


def parse_model_args(name: str, pairs: list[str]) -> dict:
    """`["activation=tanh", "hidden=120,84", "dropout=0.5"]` -> keyword arguments for create_model.

    Values are converted by the builder's annotations: bool (true/false, yes/no, on/off, 1/0), int,
    float, str, a Literal's choices, tuples as comma-separated values ("120,84"), and "none" where
    the type allows None. A later KEY overrides an earlier one. Mistakes (no "=", an unknown key, a
    value of the wrong type) raise a one-line ConvzooError naming the model and what is expected.
    Ranges (dropout in [0, 1), a buildable depth) are checked when the model is built.
    """
    options = {o.name: o for o in model_options(name)}
    result = {}
    for pair in pairs:
        key, eq, text = pair.partition("=")
        key, text = key.strip(), text.strip()
        if not eq or not key:
            raise ConvzooError(f"{name}: model option {pair!r} is not KEY=VALUE; "
                               f"options: {_listing(options)}")
        if key not in options:
            raise _unknown_option(name, key, options)
        option = options[key]
        try:
            result[key] = _convert(text, option.annotation)
        except ValueError:
            raise ConvzooError(f"{name}: option {key} expects {_expected(option)}, got {text!r}") from None
    return result


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
    _check_kwargs(info, kwargs)
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


# --- options from signatures ---------------------------------------------------------------------

@functools.cache
def _signature(builder: Builder) -> tuple[dict[str, inspect.Parameter], dict, bool]:
    """(options by name, resolved annotations, whether the builder takes **kwargs)."""
    signature = inspect.signature(builder)
    params = {k: p for k, p in signature.parameters.items()
              if k not in REQUIRED and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
    open_ended = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
    return params, typing.get_type_hints(builder), open_ended


def _check_kwargs(info: ModelInfo, kwargs: dict) -> None:
    params, hints, open_ended = _signature(info.builder)
    options = {key: hints.get(key) for key in params}
    for key, value in kwargs.items():
        if key not in options:
            if open_ended:
                continue
            raise _unknown_option(info.name, key, options)
        choices = _choices(options[key])
        if choices is not None and value not in choices:
            raise ConvzooError(f"{info.name}: option {key} expects one of "
                               f"{', '.join(map(str, choices))}, got {value!r}")


def _unknown_option(name: str, key: str, options) -> ConvzooError:
    close = difflib.get_close_matches(key, list(options), n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return ConvzooError(f"{name}: unknown option {key!r}{hint}; options: {_listing(options)}")


def _listing(options) -> str:
    return ", ".join(options) or "(none)"


def _union_args(annotation) -> tuple | None:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return typing.get_args(annotation)
    return None


def _choices(annotation) -> tuple | None:
    """The values of a Literal (also inside `Literal[...] | None`), else None."""
    if typing.get_origin(annotation) is typing.Literal:
        return typing.get_args(annotation)
    members = _union_args(annotation)
    if members:
        literals = [_choices(m) for m in members if m is not type(None)]
        if len(literals) == 1 and literals[0] is not None:
            return (*literals[0], None)
    return None


def _describe(annotation) -> str:
    if annotation is inspect.Parameter.empty or annotation is None:
        return "str"
    if annotation is type(None):
        return "none"
    if typing.get_origin(annotation) is typing.Literal:
        return "|".join(map(str, typing.get_args(annotation)))
    members = _union_args(annotation)
    if members:
        return "|".join(_describe(m) for m in members)
    if typing.get_origin(annotation) is tuple:
        args = typing.get_args(annotation)
        if len(args) == 2 and args[1] is Ellipsis:
            item = _describe(args[0])
            return f"{item},{item},..."
        return ",".join(_describe(a) for a in args)
    return getattr(annotation, "__name__", str(annotation))


def _expected(option: ModelOption) -> str:
    annotation = option.annotation
    if annotation is bool:
        return "a bool (true/false, yes/no, on/off, 1/0)"
    if option.choices is not None:
        return "one of " + ", ".join("none" if c is None else str(c) for c in option.choices)
    if typing.get_origin(annotation) is tuple:
        return f"comma-separated values ({option.type})"
    return {"int": "an int", "float": "a number"}.get(option.type, option.type)


def _convert(text: str, annotation):
    """Text -> value of the annotated type; ValueError if it is not one."""
    if annotation is inspect.Parameter.empty or annotation is str:
        return text
    if annotation is bool:
        if text.lower() in TRUE:
            return True
        if text.lower() in FALSE:
            return False
        raise ValueError(text)
    if annotation is int or annotation is float:
        return annotation(text)
    if annotation is type(None):
        if text.lower() == "none":
            return None
        raise ValueError(text)
    if typing.get_origin(annotation) is typing.Literal:
        choices = typing.get_args(annotation)
        for choice in choices:
            if str(choice) == text:
                return choice
        folded = [c for c in choices if str(c).lower() == text.lower()]
        if len(folded) == 1:
            return folded[0]
        raise ValueError(text)
    members = _union_args(annotation)
    if members:
        order = sorted(members, key=lambda m: m is not type(None))  # "none" before str would take it
        for member in order:
            try:
                return _convert(text, member)
            except ValueError:
                continue
        raise ValueError(text)
    if typing.get_origin(annotation) is tuple:
        args = typing.get_args(annotation)
        parts = [p.strip() for p in text.split(",")]
        if parts and not parts[-1]:
            parts.pop()  # "800," is a one-element tuple
        if len(args) == 2 and args[1] is Ellipsis:
            if not parts:
                raise ValueError(text)
            return tuple(_convert(p, args[0]) for p in parts)
        if len(parts) != len(args):
            raise ValueError(text)
        return tuple(_convert(p, a) for p, a in zip(parts, args))
    raise ValueError(f"no conversion from text to {annotation}")


def _doc_help(builder: Builder) -> dict[str, str]:
    """`name: text` entries of the docstring's "Args:" section (continuation lines indented)."""
    lines = (inspect.getdoc(builder) or "").splitlines()
    helps: dict[str, str] = {}
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() in ("Args:", "Options:"))
    except StopIteration:
        return helps
    indent, key = None, None
    for line in lines[start + 1:]:
        if not line.strip():
            continue
        depth = len(line) - len(line.lstrip())
        if indent is None:
            indent = depth
        if depth < indent or depth == 0:
            break
        entry = re.match(r"(\w+)(?: \([^)]*\))?: (.*)", line.strip())
        if depth == indent and entry:
            key = entry.group(1)
            helps[key] = entry.group(2).strip()
        elif key:
            helps[key] += " " + line.strip()
    return helps


def _plain(value):
    """JSON-friendly: tuples become lists."""
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value
