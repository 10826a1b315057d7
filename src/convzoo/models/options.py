"""The lectures' knobs as builder options: read from a builder's signature, type annotations and
docstring, and parsed from the CLI's `--model-arg KEY=VALUE` strings by the same annotations.

A `Literal[...]` annotation is the list of choices; the builder's docstring "Args:" section is the
help. Nothing here knows the registry: it works on any builder function.
"""

from __future__ import annotations

import difflib
import functools
import inspect
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field

from torch import nn

from ..errors import ConvzooError

Builder = Callable[..., nn.Module]
# Filled by create_model from its own arguments: not options, and never fixed by an entry.
REQUIRED = ("num_classes", "in_channels", "input_size")
TRUE, FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")


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


def builder_options(builder: Builder, fixed: dict) -> list[ModelOption]:
    """A builder's options in signature order; `fixed` (an entry's arguments) overrides its defaults."""
    params, hints, _ = signature_of(builder)
    helps = _doc_help(builder)
    options = []
    for key, param in params.items():
        annotation = hints.get(key, param.annotation)
        default = fixed.get(key, None if param.default is param.empty else param.default)
        options.append(ModelOption(key, _describe(annotation), default, choices_of(annotation),
                                   helps.get(key, ""), annotation))
    return options


def parse_option_pairs(name: str, options: list[ModelOption], pairs: list[str]) -> dict:
    """KEY=VALUE strings -> keyword arguments, converted by each option's annotation."""
    options = {o.name: o for o in options}
    result = {}
    for pair in pairs:
        key, eq, text = pair.partition("=")
        key, text = key.strip(), text.strip()
        if not eq or not key:
            raise ConvzooError(f"{name}: model option {pair!r} is not KEY=VALUE; "
                               f"options: {_listing(options)}")
        if key not in options:
            raise unknown_option(name, key, options)
        option = options[key]
        try:
            result[key] = _convert(text, option.annotation)
        except ValueError:
            raise ConvzooError(f"{name}: option {key} expects {_expected(option)}, got {text!r}") from None
    return result


@functools.cache
def signature_of(builder: Builder) -> tuple[dict[str, inspect.Parameter], dict, bool]:
    """(options by name, resolved annotations, whether the builder takes **kwargs)."""
    signature = inspect.signature(builder)
    params = {k: p for k, p in signature.parameters.items()
              if k not in REQUIRED and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
    open_ended = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
    return params, typing.get_type_hints(builder), open_ended


def check_kwargs(info, kwargs: dict) -> None:
    params, hints, open_ended = signature_of(info.builder)
    options = {key: hints.get(key) for key in params}
    for key, value in kwargs.items():
        if key not in options:
            if open_ended:
                continue
            raise unknown_option(info.name, key, options)
        choices = choices_of(options[key])
        if choices is not None and value not in choices:
            raise ConvzooError(f"{info.name}: option {key} expects one of "
                               f"{', '.join(map(str, choices))}, got {value!r}")


def unknown_option(name: str, key: str, options) -> ConvzooError:
    close = difflib.get_close_matches(key, list(options), n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return ConvzooError(f"{name}: unknown option {key!r}{hint}; options: {_listing(options)}")


def _listing(options) -> str:
    return ", ".join(options) or "(none)"


def _union_args(annotation) -> tuple | None:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return typing.get_args(annotation)
    return None


def choices_of(annotation) -> tuple | None:
    """The values of a Literal (also inside `Literal[...] | None`), else None."""
    if typing.get_origin(annotation) is typing.Literal:
        return typing.get_args(annotation)
    members = _union_args(annotation)
    if members:
        literals = [choices_of(m) for m in members if m is not type(None)]
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
