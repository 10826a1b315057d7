"""`convzoo models [PATTERN|NAME] [--json] [--macs]`: the registry as a table, or one model in full.

A PATTERN (a glob such as `resnet*`, or a substring) lists the matching models. An exact model NAME
shows that model's metadata and its builder options (key, type or choices, default, meaning): the
values `--model-arg KEY=VALUE` accepts and `create_model(NAME, KEY=VALUE)` takes.
Parameter counts come from the registry's metadata (the tests check them against the builds).
`--macs` also counts multiply-adds at each model's default input: every model is built and run on
torch's meta device (shapes only, no arithmetic, no memory), which still takes up to a second
per deep model, so it is off by default.
"""

from __future__ import annotations

from ..analysis import default_input_macs
from ..models import is_user_spec, list_models, model_info, model_options
from ..tables import Grid, human
from .output import Result

HEADER = ("name", "family", "year", "params", "input", "small_stem")
RIGHT_ALIGNED = {"params", "macs"}
OPTION_HEADER = ("option", "type", "default", "meaning")


def register(sub) -> None:
    p = sub.add_parser("models", help="list the registered models, or show one with its options",
                       description=__doc__)
    p.add_argument("pattern", nargs="?",
                   help="glob (resnet*) or substring to filter names; an exact name (or your FILE.py:Class) "
                        "shows that model's options")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--macs", action="store_true",
                   help="add multiply-adds at the default input (slower: builds and runs each model on "
                        "the meta device, up to a second per deep model)")
    p.set_defaults(func=run)


def run(args) -> Result:
    if args.pattern and is_user_spec(args.pattern):
        return _show_user(args.pattern)
    if args.pattern in list_models():
        return _show(args.pattern, args)
    rows = [_row(name, args.macs) for name in list_models(args.pattern)]
    if not rows:  # an empty list is an answer for a script, a mistake for a person
        return Result(rows, [f"no model matches {args.pattern!r}"], code=0 if args.json else 1, indent=2)
    header = HEADER + (("macs",) if args.macs else ())
    return Result(rows, [_grid(header, [[_cell(r, h) for h in header] for r in rows], RIGHT_ALIGNED)], indent=2)


def _row(name: str, macs: bool) -> dict:
    info = model_info(name)
    row = {
        "name": name, "family": info.family, "year": info.year, "params": info.params,
        "input": "x".join(map(str, info.input_size)), "num_classes": info.num_classes,
        "min_size": info.min_size, "small_stem": info.small_input_stem,
        "paper": info.paper, "note": info.note,
    }
    if macs:
        row["macs"] = default_input_macs(name)
    return row


def _show(name: str, args) -> Result:
    """One model: its metadata, then its options."""
    row = _row(name, args.macs)
    options = [o.to_dict() for o in model_options(name)]
    keys = [k for k in row if k != "note" or row[k]]
    width = max(map(len, keys))
    text: list = [f"{key.ljust(width)}  {_cell(row, key)}" for key in keys] + [""]
    if options:
        text += [_options_grid(options), "",
                 f"set with `convzoo train {name} --model-arg KEY=VALUE` or create_model({name!r}, KEY=value)"]
    else:
        text.append(f"{name} has no options")
    return Result({**row, "options": options}, text, indent=2)


def _options_grid(options: list[dict]) -> Grid:
    return _grid(OPTION_HEADER, [[o["name"], o["type"], format_value(o["default"]), o["help"]] for o in options])


def _show_user(spec: str) -> Result:
    """The user's FILE.py:Class: the constructor arguments `--model-arg` takes."""
    from ..models.userspec import options_of

    options = [o.to_dict() for o in options_of(spec)]
    if not options:
        text = [f"{spec} takes no --model-arg (num_classes, in_channels and input_size come from the data)"]
    else:
        text = [_options_grid(options), "", f"set with `convzoo train {spec} --model-arg KEY=VALUE`"]
    return Result({"name": spec, "options": options}, text, indent=2)


def format_value(value) -> str:
    """A value as `--model-arg` spells it: true/false, none, comma-separated tuples."""
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "none"
    if isinstance(value, (list, tuple)):
        return ",".join(map(format_value, value))
    return str(value)


def _grid(header, cells: list[list[str]], right: set[str] = frozenset()) -> Grid:
    return Grid(header, cells, right={i for i, h in enumerate(header) if h in right})


def _cell(row: dict, key: str) -> str:
    value = row[key]
    if key == "small_stem":
        return "yes" if value else "-"
    if key == "macs":
        return human(value)
    return f"{value:,}" if key == "params" else str(value)

