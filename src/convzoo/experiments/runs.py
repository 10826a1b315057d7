"""One training run of an experiment on disk: its state read from its run directory, and the
file that marks a run that diverged (so that resuming the experiment does not retrain it)."""

from __future__ import annotations

import json
from pathlib import Path

from ..atomic import write_json
from ..errors import ConvzooError
from .processes import engine_output

DIVERGED_FILE = "diverged.json"


def inspect_run(run_dir: Path) -> tuple[str, dict | None]:
    """("missing" | "partial" | "finished" | "diverged", the checkpoint payload or None)."""
    from ..train.checkpoint import CHECKPOINT_NAME, load_checkpoint

    if (run_dir / DIVERGED_FILE).is_file():
        return "diverged", None
    if not (run_dir / CHECKPOINT_NAME).is_file():
        return "missing", None
    payload = load_checkpoint(run_dir)
    epochs = payload.get("config", {}).get("epochs", 0)
    return ("finished" if payload.get("epoch", 0) >= epochs else "partial"), payload


def train_or_read(config, bundle, tag: str, left: int, log) -> tuple[float, str]:
    """(final-epoch accuracy on the bundle's test set, status) of the run at config.out, trained,
    resumed or read back."""
    from ..train import Trainer

    run_dir = Path(config.out)
    done = read_finished(run_dir)
    if done is not None:
        log(f"{tag}: {done[1]}, read back ({left} left)")
        return done
    state, payload = inspect_run(run_dir)
    try:
        with engine_output(log):
            if state == "partial":
                log(f"{tag}: resuming from epoch {payload['epoch']} ({left} left after this)")
                trainer = Trainer.resume(run_dir, data=bundle, threads=config.threads, progress=False)
            else:
                log(f"{tag}: training ({config.epochs} epochs; {left} left after this)")
                trainer = Trainer(config, data=bundle)
            return trainer.fit()["test_acc"], "finished"
    except ConvzooError as exc:
        if not str(exc).startswith("training diverged"):
            raise
        chance = 1.0 / len(bundle.test.classes)
        write_json(run_dir / DIVERGED_FILE, {"message": str(exc), "chance": chance})
        log(f"{tag}: diverged; scored at chance")
        return chance, "diverged"


def read_finished(run_dir: Path) -> tuple[float, str] | None:
    """(final-epoch test accuracy, status) of a finished or diverged run, else None."""
    state, payload = inspect_run(run_dir)
    if state == "diverged":
        return json.loads((run_dir / DIVERGED_FILE).read_text()).get("chance", 0.0), "diverged"
    if state == "finished":
        return payload["history"][-1]["test_acc"], "finished"
    return None
