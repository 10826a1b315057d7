"""Train a zoo row by its recipe and publish it: weights (safetensors), card (JSON and Markdown) and
the shipped run's metrics.jsonl.

Resumable: each seed runs in `<runs>/<row>/seed<k>`; a finished seed is never retrained, an
interrupted one continues from its checkpoint, and a run whose settings differ from the recipe
is refused (it would not be this row). Weights up to SHIP_LIMIT go into the package; larger ones
into the publish folder, listed in the package's manifest with their size and SHA-256.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ..atomic import write_json, write_text
from ..errors import ConvzooError
from ..train.checkpoint import CHECKPOINT_NAME, load_checkpoint
from ..train.config import upgraded
from ..train.recipes import RECIPES
from . import store
from .cards import SLICE, build_card, markdown, seed_record
from .rows import Row, get_row

RUNS = Path("runs") / "zoo"
PUBLISH = RUNS / "publish"  # large weights wait here to be uploaded to the base URL
MAX_SEEDS = 10


def run_dir(runs: Path, name: str, seed: int) -> Path:
    return Path(runs) / name / f"seed{seed}"


def _plain(value):
    return json.loads(json.dumps(value))  # tuples -> lists, as a checkpoint's config holds them


def seed_done(row: Row, path: Path) -> bool | None:
    """True: finished; False: interrupted (resume it); None: not started. A run of other settings
    than the row's recipe is a ConvzooError."""
    if not (path / CHECKPOINT_NAME).is_file():
        return None
    payload = load_checkpoint(path)
    config = upgraded(payload.get("config", {}))
    for key, value in RECIPES[row.recipe].values().items():
        if _plain(config.get(key)) != _plain(value):
            raise ConvzooError(f"{path} was trained with {key}={config.get(key)!r}, not the recipe's {value!r}; "
                               "move it away to retrain the row")
    return payload.get("epoch", 0) >= config.get("epochs", 0)


def train_seed(row: Row, seed: int, runs: Path = RUNS, threads: int = 1, progress: bool | None = None) -> Path:
    from ..train import Trainer

    path = run_dir(runs, row.name, seed)
    done = seed_done(row, path)
    if done:
        return path
    if done is False:
        trainer = Trainer.resume(path)
    else:
        trainer = Trainer(RECIPES[row.recipe].config(seed=seed, threads=threads, out=str(path), progress=progress))
    trainer.fit()
    return path


def train_row(name: str, seeds: int | None = None, runs: Path = RUNS, threads: int = 1,
              progress: bool | None = None, dest: Path | None = None, publish: Path = PUBLISH) -> dict:
    """Train seeds 0..K-1 of row `name` (K: the row's own count) and publish the row; returns its card."""
    row = get_row(name)
    seeds = row.seeds if seeds is None else seeds
    if not 1 <= seeds <= MAX_SEEDS:
        raise ConvzooError(f"--seeds must be 1 to {MAX_SEEDS}, not {seeds}")
    paths = [train_seed(row, seed, runs, threads, progress) for seed in range(seeds)]
    return export_row(row, paths, dest, publish)


def export_row(row: Row, runs: list[Path], dest: Path | None = None, publish: Path = PUBLISH,
               data_dir=None) -> dict:
    """Publish `row` from its finished seed runs (the first one's weights ship); `data_dir`: where
    the test set is for the check of the shipped file (default: the usual search)."""
    from ..data.download import sha256_file
    from ..export import export_safetensors

    dest = Path(dest or store.weights_dir())
    dest.mkdir(parents=True, exist_ok=True)
    payloads = [load_checkpoint(path) for path in runs]
    for path, payload in zip(runs, payloads):
        if payload.get("epoch", 0) < payload["config"]["epochs"]:
            raise ConvzooError(f"{path} has not finished ({payload.get('epoch')} of {payload['config']['epochs']} epochs)")
    records = [seed_record(p) for p in payloads]
    weights = dest / f"{row.name}{store.SUFFIX}"
    export_safetensors(runs[0], weights)
    # A provisional card (config and setup, no results) lets the shipped file itself be evaluated.
    provisional = build_card(row, payloads[0], records, {}, {"full": None, "slice": None})
    write_json(store.card_path(row.name, dest), {k: v for k, v in provisional.items() if k != "card"})
    checked = evaluate_shipped(weights, records[0]["test_accuracy"], data_dir)
    info = {"file": weights.name, "size": weights.stat().st_size, "sha256": sha256_file(weights)}
    info["shipped"] = info["size"] <= store.SHIP_LIMIT
    if not info["shipped"]:
        _publish_large(row.name, weights, info, dest, Path(publish))
    elif row.name in store.read_manifest(dest)["models"]:  # once large, now small: it ships
        manifest = store.read_manifest(dest)
        del manifest["models"][row.name]
        write_json(dest / "manifest.json", manifest)
    write_text(dest / f"{row.name}.metrics.jsonl", (Path(runs[0]) / "metrics.jsonl").read_text())
    card = build_card(row, payloads[0], records, info, checked)
    write_text(dest / f"{row.name}.md", markdown(card))
    write_json(store.card_path(row.name, dest), card)  # last: the table shows the row once it is whole
    return card


def evaluate_shipped(weights: Path, run_accuracy: float, data_dir=None, tolerance: float = 0.002) -> dict:
    """The shipped file on the full test set and on its first SLICE images; it must give the run's
    final accuracy (same weights, same precision), else nothing is published."""
    from ..train.metrics import evaluate_checkpoint

    checked = evaluate_checkpoint(weights, data_dir=data_dir, keep_logits=True)
    labels = checked.test.labels[:SLICE]
    on_slice = round(float((checked.logits[:SLICE].argmax(1) == labels).float().mean()), 4)
    full = checked.evaluation.accuracy
    if abs(full - run_accuracy) > tolerance:
        raise ConvzooError(f"{weights}: the exported weights give {full:.4f}, the run ended at {run_accuracy:.4f}; "
                           "not published")
    return {"full": full, "slice": on_slice}


def _publish_large(name: str, weights: Path, info: dict, dest: Path, publish: Path) -> None:
    publish.mkdir(parents=True, exist_ok=True)
    shutil.move(weights, publish / weights.name)
    manifest = store.read_manifest(dest)
    manifest["models"][name] = {k: info[k] for k in ("file", "size", "sha256")}
    write_json(dest / "manifest.json", manifest)
