"""One training run of an experiment on disk: its state read from its run directory, the file that
marks a run that diverged (so that resuming the experiment does not retrain it), and train-or-read,
which trains, resumes or reads back a run and remembers why it failed."""

from __future__ import annotations

from pathlib import Path

from ..atomic import read_json_dict, write_json
from ..errors import ConvzooError
from .failures import forget_failure, remember_failure
from .processes import engine_output

DIVERGED_FILE = "diverged.json"


def read_diverged(run_dir: Path) -> dict | None:
    """The run's diverged.json ({"message", maybe "chance"}), or None when there is none or it is not
    one (a corrupt file is ignored: the run is redone)."""
    held = read_json_dict(run_dir / DIVERGED_FILE)
    chance = held.get("chance", 0.0)
    if not isinstance(held.get("message"), str) or not isinstance(chance, (int, float)) or not 0 <= chance <= 1:
        return None
    return held


def inspect_run(run_dir: Path) -> tuple[str, dict | None]:
    """("missing" | "partial" | "finished" | "diverged", the checkpoint payload or None)."""
    from ..train.checkpoint import CHECKPOINT_NAME, load_checkpoint

    if read_diverged(run_dir) is not None:
        return "diverged", None
    if not (run_dir / CHECKPOINT_NAME).is_file():
        return "missing", None
    payload = load_checkpoint(run_dir)
    epochs = payload.get("config", {}).get("epochs", 0)
    return ("finished" if payload.get("epoch", 0) >= epochs else "partial"), payload


def train_or_read(config, bundle, tag: str, left: int, log) -> tuple[float, str]:
    """(final-epoch accuracy on the bundle's test set, status) of the run at config.out, trained,
    resumed or read back. A run that fails the same way twice says so (failures.py)."""
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
            accuracy = trainer.fit()["test_acc"]
        forget_failure(run_dir)
        return accuracy, "finished"
    except ConvzooError as exc:
        if not str(exc).startswith("training diverged"):
            raise ConvzooError(remember_failure(run_dir, str(exc))) from None
        chance = 1.0 / len(bundle.test.classes)
        write_json(run_dir / DIVERGED_FILE, {"message": str(exc), "chance": chance})
        log(f"{tag}: diverged; scored at chance")
        return chance, "diverged"


def read_finished(run_dir: Path) -> tuple[float, str] | None:
    """(final-epoch test accuracy, status) of a finished or diverged run, else None."""
    state, payload = inspect_run(run_dir)
    if state == "diverged":
        return float(read_diverged(run_dir).get("chance", 0.0)), "diverged"
    if state == "finished":
        try:
            return float(payload["history"][-1]["test_acc"]), "finished"
        except (KeyError, IndexError, TypeError, ValueError):
            return None  # a checkpoint without its last evaluation: the run is redone
    return None
