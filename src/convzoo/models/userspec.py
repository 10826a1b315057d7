"""The user's own network, named on the command line: `FILE.py:Class` or `package.module:Class`
(uvicorn's convention), a class, a function returning an nn.Module, or a module-level instance.

The user's code is imported only when a function here is called with a spec or a `--code` the
user typed: a checkpoint's record is data and never names what gets imported. Constructor
arguments come as `--model-arg KEY=VALUE`, typed by the signature as registry builders' options
are (models/options.py); `num_classes`, `in_channels` and `input_size` are filled from the data
when the signature takes them.
"""

from __future__ import annotations

import copy
import difflib
import inspect
import re
import sys
import typing
from pathlib import Path

from torch import nn

from ..errors import ConvzooError
from .options import REQUIRED, ModelOption, _doc_help, choices_of, parse_option_pairs
from .usercode import IDENTIFIER, MODULE, import_code, import_failure, source_sha256, users_file


def is_user_spec(text: str) -> bool:
    """`FILE.py:Class`, `package.module:Class`, or a `FILE.py` missing its `:Class` (an error
    worth its own message) rather than a registry name, a checkpoint or `zoo:NAME`."""
    text = str(text)
    where, colon, _ = text.rpartition(":")
    if not colon:
        return text.endswith(".py")
    return where.endswith(".py") or (bool(MODULE.fullmatch(where)) and where != "zoo")


def split_spec(spec: str) -> tuple[str, str]:
    """`tiny.py:TinyNet` -> ("tiny.py", "TinyNet"), with one-line errors for malformed specs."""
    where, colon, name = str(spec).rpartition(":")
    if not colon:
        raise ConvzooError(f"{spec}: name the model too, FILE.py:Class or package.module:Class "
                           f"(e.g. {spec}:TinyNet)")
    if not re.fullmatch(IDENTIFIER, name):
        raise ConvzooError(f"{spec}: {name!r} is not a Python name; expected FILE.py:Class or package.module:Class")
    return where, name


def _a(noun: str) -> str:
    return f"an {noun}" if noun[:1].lower() in "aeiou" else f"a {noun}"


def find_model(module, name: str, where: str, *, own_only: bool = False):
    """The class, function or instance `name` in the user's module. `own_only` (a checkpoint
    named it, not the user) accepts only what the module itself defines."""
    obj = getattr(module, name, None)
    if obj is None:
        known = [k for k, v in vars(module).items() if not k.startswith("_") and _is_candidate(v)]
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(close)}?" if close else f"it defines: {', '.join(known) or '(no models)'}"
        raise ConvzooError(f"{where} has no {name!r}; {hint}")
    if own_only and not isinstance(obj, nn.Module) and getattr(obj, "__module__", None) != module.__name__:
        raise ConvzooError(f"{where}: {name} is not defined in {where} (it comes from "
                           f"{getattr(obj, '__module__', '?')}): a checkpoint names only what the code defines; "
                           f"to use it, name it yourself: --code {where}:{name}")
    if not _is_candidate(obj):
        raise ConvzooError(f"{where}:{name} is {_a(type(obj).__name__)}, not an nn.Module class, "
                           "a function returning one, nor a module")
    return obj


def _is_candidate(obj) -> bool:
    if isinstance(obj, type):
        return issubclass(obj, nn.Module)
    return isinstance(obj, nn.Module) or inspect.isfunction(obj)


def user_options(obj) -> list[ModelOption]:
    """The constructor's (or function's) keyword arguments as options, typed by annotation, else by
    the default's type (`width=16` is an int), with help from the docstring's "Args:" section; the
    data-filled arguments are not options."""
    if isinstance(obj, nn.Module):
        return []
    target = obj.__init__ if isinstance(obj, type) else obj
    try:
        hints = typing.get_type_hints(target)
    except Exception:  # noqa: BLE001 - an annotation that does not resolve: fall back to the default's type
        hints = {}
    options, helps = [], {**_doc_help(obj), **(_doc_help(obj.__init__) if isinstance(obj, type) else {})}
    for key, param in _parameters(obj).items():
        if key in REQUIRED:
            continue
        default = None if param.default is param.empty else param.default
        annotation = hints.get(key, param.annotation)
        if isinstance(annotation, str) or annotation is param.empty:
            annotation = type(default) if isinstance(default, (bool, int, float)) else param.empty
        options.append(ModelOption(key, getattr(annotation, "__name__", "str"), default,
                                   choices_of(annotation), helps.get(key, ""), annotation))
    return options


def _parameters(obj) -> dict[str, inspect.Parameter]:
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        return {}
    return {k: p for k, p in signature.parameters.items() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}


def construct(obj, kwargs: dict, context: dict, label: str, rebuilding: bool = False) -> tuple[nn.Module, dict]:
    """Call the class or function with `kwargs` and the `context` values its signature takes
    (num_classes, in_channels, input_size); (the module, every argument passed)."""
    if isinstance(obj, nn.Module):
        if kwargs:
            raise ConvzooError(f"{label} is a module instance: it takes no --model-arg ({', '.join(kwargs)})")
        return copy.deepcopy(obj), {}
    params = _parameters(obj)  # context goes to named parameters only: **kwargs may forward anywhere
    filled = {k: v for k, v in context.items() if v is not None and k in params and k not in kwargs}
    arguments = {**filled, **kwargs}
    missing = [k for k, p in params.items() if p.default is p.empty and k not in arguments
               and p.kind is not p.POSITIONAL_ONLY]
    if missing and rebuilding:  # a model given to the Trainer as an instance: its arguments were not recorded
        raise ConvzooError(f"{label} needs {', '.join(missing)}, which the checkpoint does not record (a model "
                           "trained from Python); load it there: model_from_checkpoint(run, model=YourModel(...))")
    if missing:
        flags = " ".join(f"--model-arg {k}=..." for k in missing if k not in REQUIRED)
        raise ConvzooError(f"{label} needs {', '.join(missing)}" + (f": give {flags}" if flags else ""))
    try:
        model = obj(**arguments)
    except ConvzooError:
        raise
    except Exception as exc:  # noqa: BLE001 - the user's constructor failing is the user's mistake
        raise import_failure(label, exc, f"building it with ({_call_text(arguments)})") from None
    if not isinstance(model, nn.Module):
        raise ConvzooError(f"{label} returned {_a(type(model).__name__)}, not an nn.Module")
    return model, arguments


def _call_text(arguments: dict) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in arguments.items())


def _record(spec: str, obj, module, arguments: dict) -> dict:
    """What a checkpoint records of a user model: plain data, enough to check `--code` against."""
    cls = obj if isinstance(obj, type) else None
    qualname = f"{module.__name__}.{getattr(obj, '__qualname__', spec.rpartition(':')[2])}"
    return {"name": spec.rpartition(":")[2], "class": qualname, "custom": True, "spec": spec,
            "kind": "class" if cls else "function" if inspect.isfunction(obj) else "instance",
            "kwargs": dict(arguments), "sha256": source_sha256(module)}


def options_of(model: str) -> list[ModelOption]:
    """The options of a registered model or of the user's `FILE.py:Class` (whose code this imports):
    what `--model-arg` and `--grid` take, wherever a model name is accepted."""
    if is_user_spec(model):
        where, name = split_spec(model)
        return user_options(find_model(import_code(where), name, where))
    from .registry import model_options

    return model_options(model)  # an unknown name fails here, with suggestions


def parse_args_of(model: str, pairs: list[str]) -> dict:
    """`--model-arg KEY=VALUE` strings -> keyword arguments, typed by the builder's or constructor's
    signature (registry models: the same as registry.parse_model_args)."""
    return parse_option_pairs(model, options_of(model), list(pairs or []))


def model_label(model: str) -> str:
    """A name fit for a folder and a table: the class of `FILE.py:Class`, else the registry name."""
    return split_spec(model)[1] if is_user_spec(model) else model


def build_user_model(spec: str, model_args: list[str] | dict | None = None, *,
                     context: dict | None = None) -> tuple[nn.Module, dict]:
    """(the module built from `spec`, its record {spec, kwargs, sha256, class, ...}).

    `model_args` are `KEY=VALUE` strings (typed by the signature) or keyword arguments; `context`
    holds num_classes / in_channels / input_size, passed when the signature takes them.
    """
    where, name = split_spec(spec)
    module = import_code(where)
    obj = find_model(module, name, where)
    if isinstance(model_args, dict):
        kwargs = dict(model_args)
    else:
        kwargs = parse_option_pairs(spec, user_options(obj), list(model_args or []))  # see parse_args_of
    model, arguments = construct(obj, kwargs, context or {}, spec)
    return model, _record(spec, obj, module, arguments)


def rebuild_from_record(record: dict, code: str, state_dict: dict | None = None) -> tuple[nn.Module, list[str]]:
    """The model a checkpoint's `record` describes, built from the code the user named (`--code
    FILE.py`, `package.module`, or `...:Class` to name another class), with `state_dict` loaded.

    (model, notes): a note names each difference from the record (another class, a changed source)
    when the weights still fit; weights that do not fit are a one-line ConvzooError.
    """
    where, _, named = str(code).rpartition(":") if is_user_spec(code) and ":" in str(code) else (code, "", "")
    recorded = str(record.get("name") or "")
    name = named or recorded
    if not re.fullmatch(IDENTIFIER, name):
        raise ConvzooError(f"the checkpoint names no model class ({recorded!r}); give --code {where}:Class")
    module = import_code(where)
    obj = find_model(module, name, where, own_only=not named)
    kwargs = record.get("kwargs") or {}
    if not isinstance(kwargs, dict) or not all(isinstance(k, str) for k in kwargs):
        raise ConvzooError("the checkpoint's model arguments are not a table of names and values")
    label = f"{where}:{name}"
    model, _ = construct(obj, {} if isinstance(obj, nn.Module) else kwargs, {}, label, rebuilding=True)
    notes = _differences(record, obj, module, label)
    if state_dict is not None:
        try:
            model.load_state_dict(state_dict)
        except (RuntimeError, KeyError) as exc:
            first = str(exc).strip().splitlines()[0][:120]
            why = f" ({'; '.join(notes)})" if notes else ""
            raise ConvzooError(f"the checkpoint's weights do not fit {label}{why}: {first}") from None
    return model, notes


def _differences(record: dict, obj, module, label: str) -> list[str]:
    notes = []
    recorded_class = record.get("class")
    qualname = f"{module.__name__}.{getattr(obj, '__qualname__', type(obj).__qualname__)}"
    if recorded_class and str(recorded_class).rpartition(".")[2] != qualname.rpartition(".")[2]:
        notes.append(f"{label} is {qualname}, the checkpoint was trained with {recorded_class}")
    recorded_hash, found = record.get("sha256"), source_sha256(module)
    if recorded_hash and found and recorded_hash != found:
        notes.append(f"{Path(module.__file__).name} has changed since training "
                     f"(sha256 {found[:12]}, trained with {str(recorded_hash)[:12]})")
    return notes


def model_record(model: nn.Module) -> dict:
    """What a checkpoint records of a model given as an instance (the Trainer's `model=`): its
    class, and when the class comes from a file, that file's name and hash so `--code` can rebuild it
    when its constructor needs no arguments."""
    cls = type(model)
    module = sys.modules.get(cls.__module__)
    record = {"name": cls.__name__, "class": f"{cls.__module__}.{cls.__qualname__}", "custom": True,
              "kind": "class", "kwargs": {}}
    file = getattr(module, "__file__", None)
    # A class defined inside a function cannot be found again; torch's or a library's is not the user's.
    if file and "<" not in cls.__qualname__ and users_file(Path(file)):
        record.update(sha256=source_sha256(module), file=Path(file).name)
    return record
