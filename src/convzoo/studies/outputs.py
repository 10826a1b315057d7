"""A study's outputs: results.md (the table, notes and figures), finding.md and results.json, and
`StudyResult`, what `convzoo study run` prints."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path

from ..atomic import write_json, write_text
from ..tables import Grid, Table, Tabular, markdown_table
from .base import Analysis, Results


@dataclass
class StudyResult(Tabular):
    """What `convzoo study NAME` prints: the table, the finding, where everything is."""

    study: str
    setting: str
    data: str
    seeds: int
    out: str
    command: str
    columns: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    finding: str = ""
    notes: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    counts: dict = field(default_factory=dict)  # started, resumed, read back, diverged, failed, left
    failures: list[str] = field(default_factory=list)
    complete: bool = True
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def table(self) -> Table:
        return Table(f"study {self.study} ({self.setting}) on {self.data}, {self.seeds} seed(s)",
                     Grid(self.columns, self.rows), "", self.finding.strip(), *(f"- {n}" for n in self.notes))

    def figures(self) -> dict:
        """The study's figures as matplotlib Figures, by file name (those drawn by this run of the
        study; the same pictures as the PNGs in its folder)."""
        return dict(getattr(self, "drawn", {}))

    def _repr_html_(self) -> str:
        """The table, then the study's figures (the PNGs in its folder), for a notebook."""
        import base64
        import html

        pictures = [Path(f) for f in self.files if f.endswith(".png") and Path(f).is_file()]
        return self.table().html() + "".join(
            f'<img alt="{html.escape(p.name)}" style="max-width:100%" '
            f'src="data:image/png;base64,{base64.b64encode(p.read_bytes()).decode()}">' for p in pictures)


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
