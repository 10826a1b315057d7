"""Images seen and training FLOPs to a validation accuracy: the compute to 0.92 / 0.93 / 0.94 / 0.95.

The protocol (docs/speedrun.md): each seed's run holds a validation split out of the training set
(`--val-split`), evaluates it after every epoch, and reads the test set once, after the last epoch
(`--test-once`). A threshold is reached at the first epoch whose validation accuracy is at or above
it; its cost is the images seen and training FLOPs of the run up to the end of that epoch, counted
as the run's record counts them (train/compute.py). An epoch is the resolution: a threshold crossed
mid-epoch is charged the whole epoch. A run with a one-cycle schedule reaches a threshold where its
own length puts the low learning rate, so each recipe's row is that recipe's, not a property of its
net: a shorter run of the same net may reach a threshold earlier.
"""

from __future__ import annotations

import statistics

DEFAULT_THRESHOLDS = (0.92, 0.93, 0.94, 0.95)


def crossing_epoch(val_accuracy: list[float], threshold: float) -> int | None:
    """The first epoch (1-based) whose validation accuracy is >= `threshold`, or None."""
    return next((epoch for epoch, acc in enumerate(val_accuracy, 1) if acc >= threshold), None)


def _mean_sd(values: list[float]) -> dict:
    return {"mean": statistics.fmean(values), "sd": statistics.stdev(values) if len(values) > 1 else 0.0}


def to_thresholds(curves: list[list[float]], by_epoch: list[dict], thresholds=DEFAULT_THRESHOLDS) -> list[dict]:
    """One row per threshold: how many seeds reached it, and over those, the epochs, images seen and
    training FLOPs to it (mean and sd). `curves`: each seed's validation accuracy after every epoch;
    `by_epoch`: the run's compute after epoch 1, 2, ... (Compute.to_dict()), the same for every seed."""
    rows = []
    for threshold in thresholds:
        epochs = [e for e in (crossing_epoch(curve, threshold) for curve in curves) if e is not None]
        row = {"threshold": threshold, "seeds": len(curves), "reached": len(epochs),
               "best_val_accuracy": max((max(c) for c in curves if c), default=None)}
        if epochs:
            row["epochs"] = _mean_sd([float(e) for e in epochs])
            row["images_seen"] = _mean_sd([float(by_epoch[e - 1]["images_seen"]) for e in epochs])
            row["train_flops"] = _mean_sd([by_epoch[e - 1]["train_flops"] for e in epochs])
        rows.append(row)
    return rows


def threshold_cells(row: dict) -> list[str]:
    """A row of the printed table: threshold, seeds reaching it, epochs, images, FLOPs."""
    from ..tables import human

    reached = f"{row['reached']} of {row['seeds']}"
    if not row["reached"]:
        best = row["best_val_accuracy"]
        return [f"{row['threshold']:.2f}", reached, "-", "-", "-" if best is None else f"(best val {best:.4f})"]

    def spread(key, fmt):
        m = row[key]
        return f"{fmt(m['mean'])} ± {fmt(m['sd'])}"

    return [f"{row['threshold']:.2f}", reached, spread("epochs", lambda v: f"{v:.1f}"),
            spread("images_seen", lambda v: f"{v:,.0f}"), spread("train_flops", lambda v: f"{human(v)}FLOP")]
