"""A zoo row's model card: what was trained, on what, by which recipe, and what every seed measured.

The card JSON doubles as the safetensors config (`format`, `model`, `data`), so `load_safetensors`
and `zoo:NAME` read the same file; `config` and `setup` let `convzoo eval` evaluate exactly as the
run did. The Markdown card is rendered from the JSON.
"""

from __future__ import annotations

import os
import platform
import statistics
from datetime import date

from ..timing import git_commit

SLICE = 1000  # the regression guard's fixed slice: the first 1,000 images of the test set
DROPPED_CONFIG = ("out", "data_dir", "progress")  # where it ran, not what it was


def seed_record(payload: dict) -> dict:
    """One seed's final-epoch numbers from its checkpoint (never the best epoch)."""
    history = payload.get("history") or []
    last = history[-1] if history else {}
    return {"seed": payload["config"]["seed"], "epochs": payload.get("epoch"),
            "test_accuracy": last.get("test_acc"), "test_loss": last.get("test_loss"),
            "train_seconds": round(sum(r.get("seconds", 0.0) for r in history), 1),
            "threads": payload["config"].get("threads")}


def summarize(records: list[dict]) -> dict:
    accs = [r["test_accuracy"] for r in records]
    seconds = [r["train_seconds"] for r in records]
    return {"mean": statistics.fmean(accs), "sd": statistics.stdev(accs) if len(accs) > 1 else None,
            "seeds": len(accs), "seconds_mean": statistics.fmean(seconds)}


def machine() -> str:
    from ..timing import machine as runtime_machine

    info = runtime_machine()
    return f"{info.get('cpu') or platform.machine()}, {os.cpu_count()} cores"


def build_card(row, payload: dict, records: list[dict], weights: dict, checked: dict) -> dict:
    """The card of `row` shipped from the run in `payload` (the first seed), with every seed's
    numbers in `records`, the weights file's {file, size, sha256, shipped} and the shipped weights'
    own evaluation `checked` ({full, slice})."""
    from ..export.common import export_config

    config = {k: v for k, v in payload["config"].items() if k not in DROPPED_CONFIG}
    return {
        **export_config(payload["model"], payload["data"]),
        "config": {**config, "data_dir": None},
        "setup": payload.get("setup", {}),
        "epoch": payload.get("epoch"),
        "card": {
            "name": row.name, "title": row.title, "note": row.note, "recipe": row.recipe,
            "command": f"convzoo zoo train {row.name} --seeds {len(records)}",
            "data": payload["data"]["name"],
            "split": (f"{payload['data']['train']:,} training images, evaluated on the official "
                      f"{payload['data']['test']:,}-image test set at the final epoch (never the best)"),
            "seeds": records, "accuracy": summarize(records), "shipped_seed": records[0]["seed"],
            "shipped_test_accuracy": checked["full"], "slice": f"the first {SLICE:,} test images",
            "slice_accuracy": checked["slice"],
            "textbook": row.textbook.accuracy if row.textbook else None, "textbook_source": row.textbook_source,
            "weights": weights, "git_commit": git_commit(), "machine": machine(),
            "torch": payload.get("torch") or _torch_version(), "date": date.today().isoformat(),
        },
    }


def _torch_version() -> str:
    import torch

    return torch.__version__


def markdown(card: dict) -> str:
    """The card for people."""
    c = card["card"]
    acc = c["accuracy"]
    spread = f" ± {acc['sd']:.4f} (sd)" if acc["sd"] is not None else ""
    lines = [
        f"# zoo:{c['name']} — {c['title']}", "",
        f"{c['note']}.", "",
        f"- model: `{card['model']['name']}` {card['model'].get('kwargs') or ''}".rstrip(),
        f"- data: {c['data']}; {c['split']}",
        f"- recipe: `{c['recipe']}` (`convzoo train --recipe {c['recipe']}`); regenerate: `{c['command']}`",
        f"- test accuracy: {acc['mean']:.4f}{spread} over {acc['seeds']} seed(s)",
        f"- textbook: {c['textbook'] if c['textbook'] is not None else '-'}"
        + (f" ({c['textbook_source']})" if c["textbook_source"] else ""),
        (f"- training time: {acc['seconds_mean'] / 60:.1f} min per seed on {c['machine']} "
        f"({c['seeds'][0]['threads'] or 'all'} thread(s), under load: an upper bound)"),
        (f"- shipped weights: seed {c['shipped_seed']}, `{c['weights']['file']}`, {c['weights']['size']:,} bytes, "
        f"SHA-256 `{c['weights']['sha256']}`"),
        (f"- shipped weights re-evaluated at export: {c['shipped_test_accuracy']:.4f} on the test set, "
        f"{c['slice_accuracy']:.4f} on {c['slice']}"),
        f"- commit `{c['git_commit']}`, torch {c['torch']}, {c['date']}", "",
        "| seed | epochs | test accuracy | test loss | seconds |", "|---:|---:|---:|---:|---:|",
        *(f"| {r['seed']} | {r['epochs']} | {r['test_accuracy']:.4f} | {r['test_loss']:.4f} | {r['train_seconds']:.0f} |"
          for r in c["seeds"]),
        "",
    ]
    return "\n".join(lines)
