"""Loss and accuracy against epoch, for one run or several overlaid."""

from __future__ import annotations

from pathlib import Path

from ..figures import figure_result, new_figure


def plot_curves(histories: dict[str, list[dict]], path: str | Path | None = None):
    """`histories` maps a label to a run's metrics.jsonl rows (`trainer.history`): loss and accuracy
    in two panels, as a Figure (or written to `path`)."""
    fig = new_figure(figsize=(10, 4), layout="constrained")
    ax_loss, ax_acc = fig.subplots(1, 2)
    for label, rows in histories.items():
        prefix = f"{label} " if len(histories) > 1 else ""
        for split, style in (("train", "--"), ("val", ":"), ("test", "-")):
            shown = [r for r in rows if f"{split}_loss" in r]  # --test-once: the test set at the end only
            if shown:
                epochs = [r["epoch"] for r in shown]
                line, = ax_loss.plot(epochs, [r[f"{split}_loss"] for r in shown], style,
                                     label=f"{prefix}{split}", marker="o", markersize=3)
                ax_acc.plot(epochs, [r[f"{split}_acc"] for r in shown], style, color=line.get_color(),
                            label=f"{prefix}{split}", marker="o", markersize=3)
    ax_loss.set(xlabel="epoch", ylabel="loss", title="loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return figure_result(fig, path, dpi=100)
