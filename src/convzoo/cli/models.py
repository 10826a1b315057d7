"""`convzoo models [PATTERN] [--json]`: the registry as a table."""

from __future__ import annotations

import json

from ..models import list_models, model_info


def register(sub) -> None:
    p = sub.add_parser("models", help="list the registered models", description=__doc__)
    p.add_argument("pattern", nargs="?", help="glob (resnet*) or substring to filter names")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def run(args) -> int:
    names = list_models(args.pattern)
    rows = []
    for name in names:
        info = model_info(name)
        rows.append({
            "name": name, "family": info.family, "year": info.year, "params": info.params,
            "input": "x".join(map(str, info.input_size)), "num_classes": info.num_classes,
            "paper": info.paper, "note": info.note,
        })
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print(f"no model matches {args.pattern!r}")
        return 1
    header = ("name", "family", "year", "params", "input")
    widths = [max(len(header[i]), *(len(_cell(r, header[i])) for r in rows)) for i in range(len(header))]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    for r in rows:
        print("  ".join(_cell(r, h).rjust(w) if h == "params" else _cell(r, h).ljust(w)
                        for h, w in zip(header, widths)))
    return 0


def _cell(row: dict, key: str) -> str:
    value = row[key]
    return f"{value:,}" if key == "params" else str(value)
