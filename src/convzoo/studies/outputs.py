"""A study's outputs: results.md (the table, notes and figures), finding.md and results.json."""

from __future__ import annotations

import dataclasses
import math

from ..atomic import write_json, write_text
from ..tables import markdown_table
from .base import Analysis, Results


def study_command(name, quick, seeds, data, data_dir, out) -> str:
    parts = ["convzoo", "study", "run", name, *(["--quick"] if quick else []), "--seeds", str(seeds), "--data", data]
    if data_dir:
        parts += ["--data-dir", str(data_dir)]
    return " ".join(parts + ["--out", str(out)])


def write_outputs(results: Results, analysis: Analysis, command: str, sizes: tuple[int, int]) -> list[str]:
    out, study, setting = results.out, results.study, results.setting
    where = (f"{results.data}, {sizes[0]:,} training and {sizes[1]:,} test examples, {setting.epochs} epochs, "
             f"batch {setting.batch_size}, lr {setting.lr}, {results.seeds} seed{'s' * (results.seeds > 1)}")
    header = f"# convzoo study {study.name} ({results.setting_name})\n\n{study.question}\n\n`{command}`\n\n{where}\n\n"
    notes = "".join(f"- {n}\n" for n in analysis.notes)
    figures = "".join(f"![{f}]({f})\n" for f in analysis.figures)
    write_text(out / "results.md", header + markdown_table(analysis.columns, analysis.rows)
               + (f"\n{notes}" if notes else "") + (f"\n{figures}" if figures else ""))
    write_text(out / "finding.md", f"# Finding: {study.name} ({results.setting_name})\n\n{analysis.finding.strip()}\n")
    write_json(out / "results.json", {
        "study": study.name, "setting": results.setting_name, "command": command, "data": results.data,
        "seeds": results.seeds, "config": dataclasses.asdict(setting), "runs": results.info,
        "table": {"columns": analysis.columns, "rows": analysis.rows}, "notes": analysis.notes,
        "finding": analysis.finding, "claims": analysis.claims, "figures": analysis.figures,
        "records": [jsonable(r.to_dict()) for r in results.records],
    })
    return [str(out / n) for n in ("results.json", "results.md", "finding.md", *analysis.figures)]


def jsonable(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value
