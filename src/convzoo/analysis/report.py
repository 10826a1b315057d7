"""One self-contained HTML page for a trained run: its configuration, metrics table, curves,
confusion matrix, most confident mistakes and first-layer filters. For a study's output folder
(`convzoo study NAME --out DIR`), the study's page: its question, results table, finding, figures
and every run with its status.

Images are embedded as base64 data URIs, so the file opens from disk with no server and can be
mailed around; every piece of text is escaped (class names and paths come from files).
"""

from __future__ import annotations

import base64
import json
import tempfile
from datetime import datetime
from html import escape
from pathlib import Path

from ..atomic import write_text
from ..errors import ConvzooError
from ..inside import read_inside
from ..models import count_parameters
from ..train.checkpoint import load_checkpoint
from ..train.curves import plot_curves
from .runplots import evaluate_run, plot_confusion, plot_mistakes, plot_segmentations, run_history
from .visualize import open_subject, plot_filters

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; border-bottom: 1px solid #ddd; padding-bottom: .2em; margin-top: 2em; }
table { border-collapse: collapse; font-size: .9em; }
td, th { padding: .15em .7em; border-bottom: 1px solid #eee; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
img { max-width: 100%; height: auto; border: 1px solid #eee; }
.muted { color: #777; font-size: .85em; }
"""


def _data_uri(png: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(png.read_bytes()).decode("ascii")


def _cell(value) -> str:
    if isinstance(value, float):
        return f'<td class="n">{value:.4g}</td>'
    if isinstance(value, int) and not isinstance(value, bool):
        return f'<td class="n">{value:,}</td>'
    text = value if isinstance(value, str) else json.dumps(value)
    return f"<td>{escape(text)}</td>"


def _table(header: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _figure(uri: str | None, alt: str, missing: str = "") -> str:
    if uri is None:
        return f'<p class="muted">{escape(missing)}</p>'
    return f'<img src="{uri}" alt="{escape(alt)}">'


def _pictures(subject, label: str, history: list[dict], evaluation) -> dict[str, str | None]:
    """Draw every picture into a temporary folder and return them as data URIs."""
    uris: dict[str, str | None] = {}
    with tempfile.TemporaryDirectory(prefix="convzoo-report-") as tmp:
        folder = Path(tmp)
        plot_curves({label: history}, folder / "curves.png")
        plot_confusion(evaluation.confusion, evaluation.classes, folder / "confusion.png", title=label)
        plot_filters(subject, folder / "filters.png")
        if evaluation.evaluation.task == "segmentation":
            plot_segmentations(subject, evaluation, folder / "mistakes.png", title=label)
        else:
            try:
                plot_mistakes(evaluation, folder / "mistakes.png", n=36, title=label)
            except ConvzooError:
                pass  # a run without mistakes: the section says so
        for name in ("curves", "confusion", "mistakes", "filters"):
            png = folder / f"{name}.png"
            uris[name] = _data_uri(png) if png.is_file() else None
    return uris


def build_report(run: str, path: str | Path | None = None, code: str | None = None) -> Path:
    """Write the report of `run` (a run directory, checkpoint or pretrained name, or a study's
    output folder) to `path` (default: report.html in that directory); `code` rebuilds the user's own
    model (--code FILE.py)."""
    if Path(run).is_dir() and (Path(run) / STUDY_STATE).is_file():
        return build_study_report(run, path)
    payload = load_checkpoint(run)
    run_dir = Path(run) if Path(run).is_dir() else None
    path = Path(path) if path else (run_dir or Path(".")) / "report.html"
    label = Path(str(run).rstrip("/")).name or str(run)
    config_file = run_dir / "config.json" if run_dir else None
    saved = json.loads(config_file.read_text()) if config_file and config_file.is_file() else {}
    config = saved.get("config", payload.get("config", {}))
    data = payload["data"]
    history = run_history(run)
    evaluation = evaluate_run(run, code=code)
    subject = open_subject(run, code=code)
    uris = _pictures(subject, label, history, evaluation)
    segmentation = evaluation.evaluation.task == "segmentation"
    metric_keys = [k for k in ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "val_miou", "test_loss",
                               "test_acc", "test_miou", "lr", "examples_per_sec", "seconds")
                   if any(k in r for r in history)]
    sections = [
        ("Run", _table(["", ""], _overview(payload, subject, history, evaluation))),
        *([("Model card", _table(["", ""], [[k, v] for k, v in payload["card"].items()]))]
          if payload.get("card") else []),  # a zoo model (zoo:NAME): what was measured, how
        ("Configuration", _table(["setting", "value"], [[k, v] for k, v in config.items()])),
        ("Metrics per epoch", _table(metric_keys, [[r.get(k, "") for k in metric_keys] for r in history])),
        ("Curves", _figure(uris["curves"], "loss and accuracy curves")),
        ("Confusion matrix" + (" (pixels)" if segmentation else ""), _figure(uris["confusion"], "confusion matrix")
         + _per_class_table(evaluation)),
        ("Predicted masks" if segmentation else "Most confident mistakes",
         _figure(uris["mistakes"], "test images with true and predicted masks" if segmentation
                 else "most confident mistakes", "no mistakes on the test set")),
        ("First-layer filters", _figure(uris["filters"], "first-layer filters")),
    ]
    write_text(path, _page(label, f"{label}: {payload['model']['name']} on {data['name']}", sections))
    return path


def _overview(payload: dict, subject, history: list[dict], evaluation) -> list[list]:
    """The Run section's rows: model, parameters, data, epochs, the test figures, the data's notes."""
    data = payload["data"]
    return [
        ["model", payload["model"]["name"]],
        ["parameters", count_parameters(subject.model)],
        ["data", (f"{data['name']} ({'x'.join(map(str, data['shape']))}, {len(data['classes'])} classes; "
                  f"{data['train']:,} train, {data['test']:,} test)")],
        ["epochs", payload.get("epoch", len(history))],
        *([["test pixel accuracy", evaluation.accuracy], ["test mean IoU", evaluation.evaluation.mean_iou]]
          if evaluation.evaluation.task == "segmentation" else [["test accuracy", evaluation.accuracy]]),
        *([["note", note]] for note in data.get("notes", [])),
    ]


def _per_class_table(evaluation) -> str:
    per_class = [[c, acc] for c, acc in zip(evaluation.classes, evaluation.evaluation.per_class_accuracy)]
    if evaluation.evaluation.task != "segmentation":
        return _table(["class", "accuracy"], per_class)
    # IoU per class: the segmentation metric; accuracy per class is its pixel recall
    per_class = [[c, acc, "-" if iou is None else iou]
                 for (c, acc), iou in zip(per_class, evaluation.evaluation.per_class_iou)]
    return _table(["class", "pixel accuracy", "IoU"], per_class)


def _page(label: str, heading: str, sections: list[tuple[str, str]]) -> str:
    from .. import __version__

    body = "".join(f"<section><h2>{escape(title)}</h2>{content}</section>" for title, content in sections)
    footer = f"convzoo {__version__}, {datetime.now():%Y-%m-%d %H:%M}"
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>convzoo report: {escape(label)}</title><style>{STYLE}</style></head>"
            f"<body><h1>{escape(heading)}</h1>{body}"
            f'<p class="muted">{escape(footer)}</p></body></html>\n')


STUDY_STATE = "study.json"  # studies/runner.py's marker of a study's folder


MAX_FIGURE_BYTES = 16 * 1024 * 1024


def _study_figure(folder: Path, name) -> str:
    """A figure the results name, embedded only from inside the study's folder (inside.py's rule):
    a results.json may come from anyone, and the page is meant to be mailed."""
    data = read_inside(folder, name, MAX_FIGURE_BYTES)
    if data is None:
        return _figure(None, str(name), f"figure {name} is missing, outside the study's folder or too large")
    return _figure("data:image/png;base64," + base64.b64encode(data).decode("ascii"), str(name))


def _study_shaped(results) -> bool:
    """results.json as the study runner writes it, as far as the page reads it."""
    if not isinstance(results, dict):
        return False
    table = results.get("table", {})
    lists = [results.get(k, []) for k in ("figures", "notes", "records")]
    return (isinstance(table, dict) and all(isinstance(v, list) for v in lists)
            and isinstance(table.get("columns", []), list) and isinstance(table.get("rows", []), list)
            and all(isinstance(r, list) for r in table.get("rows", []))
            and all(isinstance(r, dict) for r in results.get("records", [])))


def build_study_report(folder: str | Path, path: str | Path | None = None) -> Path:
    """A study's page from its results.json: the question, setting and command, the results table
    and notes, the finding, every figure (embedded) and each run's status and final accuracies."""
    folder = Path(folder)
    try:
        results = json.loads((folder / "results.json").read_text())
    except FileNotFoundError:
        raise ConvzooError(f"{folder}: the study has no results yet (results.json); run it to the end first, "
                           "or run the same `convzoo study` command again to write them") from None
    except (OSError, ValueError) as exc:
        raise ConvzooError(f"{folder / 'results.json'}: not readable ({type(exc).__name__})") from None
    if not _study_shaped(results):
        raise ConvzooError(f"{folder / 'results.json'}: not a study's results (wrong shape); run the same "
                           "`convzoo study` command again to rewrite them")
    path = Path(path) if path else folder / "report.html"
    table = results.get("table", {})
    overview = [["study", results.get("study", "?")], ["setting", results.get("setting", "?")],
                ["data", results.get("data", "?")], ["seeds", results.get("seeds", "?")],
                ["command", results.get("command", "")]]
    figures = "".join(_study_figure(folder, f) for f in results.get("figures", []))
    finding = "".join(f"<p>{escape(par)}</p>" for par in str(results.get("finding", "")).split("\n\n") if par.strip())
    notes = "".join(f"<li>{escape(str(n))}</li>" for n in results.get("notes", []))
    runs = [[r.get("run", ""), r.get("seed", ""), r.get("status", ""),
             "-" if r.get("test_acc") is None else r["test_acc"], "-" if r.get("train_acc") is None else r["train_acc"],
             "-" if not isinstance(r.get("seconds"), (int, float)) else round(r["seconds"], 1),
             str(r.get("message") or "")[:120]]
            for r in results.get("records", [])]
    sections = [
        ("Study", _table(["", ""], overview)),
        ("Results", _table(table.get("columns", []), table.get("rows", [])) + (f"<ul>{notes}</ul>" if notes else "")),
        ("Finding", finding or '<p class="muted">no finding recorded</p>'),
        ("Figures", figures or '<p class="muted">no figures</p>'),
        ("Runs", _table(["run", "seed", "status", "test accuracy", "train accuracy", "seconds", "message"], runs)),
    ]
    label = folder.name or str(folder)
    write_text(path, _page(label, f"convzoo study {results.get('study', '?')} ({results.get('setting', '?')}) "
                                  f"on {results.get('data', '?')}", sections))
    return path
