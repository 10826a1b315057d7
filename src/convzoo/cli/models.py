"""`convzoo models [PATTERN] [--json] [--macs]`: the registry as a table.

Parameter counts come from the registry's metadata (the tests check them against the builds).
`--macs` also counts multiply-adds at each model's default input: every model is built and run on
torch's meta device (shapes only, no arithmetic, no memory), which still takes up to a second
per deep model, so it is off by default.
"""

from __future__ import annotations

import json

from ..analysis import default_input_macs
from ..models import list_models, model_info

HEADER = ("name", "family", "year", "params", "input", "small_stem")
RIGHT_ALIGNED = {"params", "macs"}


def register(sub) -> None:
    p = sub.add_parser("models", help="list the registered models", description=__doc__)
    p.add_argument("pattern", nargs="?", help="glob (resnet*) or substring to filter names")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--macs", action="store_true",
                   help="add multiply-adds at the default input (slower: builds and runs each model on "
                        "the meta device, up to a second per deep model)")
    p.set_defaults(func=run)


def run(args) -> int:
    rows = []
    for name in list_models(args.pattern):
        info = model_info(name)
        row = {
            "name": name, "family": info.family, "year": info.year, "params": info.params,
            "input": "x".join(map(str, info.input_size)), "num_classes": info.num_classes,
            "min_size": info.min_size, "small_stem": info.small_input_stem,
            "paper": info.paper, "note": info.note,
        }
        if args.macs:
            row["macs"] = default_input_macs(name)
        rows.append(row)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print(f"no model matches {args.pattern!r}")
        return 1
    header = HEADER + (("macs",) if args.macs else ())
    cells = [[_cell(r, h) for h in header] for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(header)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip())
    for row_cells in cells:
        print("  ".join(c.rjust(w) if h in RIGHT_ALIGNED else c.ljust(w)
                        for c, h, w in zip(row_cells, header, widths)).rstrip())
    return 0


def _cell(row: dict, key: str) -> str:
    value = row[key]
    if key == "small_stem":
        return "yes" if value else "-"
    if key == "macs":
        return _human(value)
    return f"{value:,}" if key == "params" else str(value)


def _human(count: int) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if count >= scale:
            return f"{count / scale:.2f}{unit}"
    return str(count)
