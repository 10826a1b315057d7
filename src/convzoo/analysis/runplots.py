"""Pictures of a run on its test set: the confusion matrix, the most confident mistakes, predicted
masks of a segmentation run, and training curves: each a Figure, or written to `path` (convzoo.figures)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..errors import ConvzooError
from ..figures import figure_result, new_figure
from ..infer import mask_palette
from ..train.checkpoint import load_checkpoint
from ..train.curves import plot_curves
from ..train.metrics import Evaluation, evaluate_checkpoint
from .gallery import image_grid
from .visualize import DPI


# ---- a run's test set: confusion matrix and mistakes ------------------------------------------
@dataclass
class RunEvaluation:
    """A run's test set with its evaluation and, for a classifier, every example's probabilities:
    all from `evaluate_checkpoint`, the evaluation `convzoo eval` prints."""

    classes: list[str]
    images: torch.Tensor  # (N, C, H, W) uint8, the test set
    labels: torch.Tensor  # (N,), or (N, H, W) masks
    evaluation: Evaluation
    probabilities: torch.Tensor | None  # (N, classes); None for segmentation

    @property
    def confusion(self) -> np.ndarray:
        return self.evaluation.confusion.numpy()

    @property
    def accuracy(self) -> float:
        return self.evaluation.accuracy


def evaluate_run(ref, code: str | None = None, model=None) -> RunEvaluation:
    """Evaluate a checkpoint on the test set it was trained with (same data dir, holdout, seed), the
    way the run did (its precision): the numbers `convzoo eval` prints. A run of your own module
    loads into `model` (built as it was trained), or is rebuilt by `code` (FILE.py or package.module)."""
    checked = evaluate_checkpoint(ref, keep_logits=True, code=code, model=model)
    probabilities = torch.softmax(checked.logits, 1) if checked.logits is not None else None
    return RunEvaluation(checked.classes, checked.test.images, checked.test.labels, checked.evaluation,
                         probabilities)


def plot_segmentations(subject, result: RunEvaluation, path=None, n: int = 8, title: str = ""):
    """The first `n` test images of a segmentation run: the image, its true mask and the predicted
    mask, one row each (masks in the palette `convzoo predict` writes)."""
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    from ..data import Normalizer

    n = min(n, len(result.images))
    images = result.images[:n]
    with torch.inference_mode():
        x = Normalizer(subject.mean, subject.std)(images)
        predicted = subject.model.eval()(x).float().argmax(1).cpu()
    k = len(result.classes)
    palette = np.asarray(mask_palette(k), dtype=float).reshape(-1, 3) / 255
    cmap = ListedColormap(palette)
    fig = new_figure(figsize=(1.6 * n, 5.2))
    axes = fig.subplots(3, n, squeeze=False)
    rows = [("image", images[:, 0].numpy(), "gray", None), ("truth", result.labels[:n].numpy(), cmap, k - 1),
            ("predicted", predicted.numpy(), cmap, k - 1)]
    for r, (name, arrays, colours, top) in enumerate(rows):
        for c in range(n):
            ax = axes[r][c]
            ax.imshow(arrays[c], cmap=colours, vmin=0, vmax=top if top is not None else 255, interpolation="nearest")
            ax.set_xticks([]), ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(name)
    handles = [Patch(color=palette[i], label=result.classes[i]) for i in range(1, k)]
    fig.legend(handles=handles, loc="lower center", ncol=min(k - 1, 10), fontsize=7, frameon=False)
    fig.suptitle(title or "test images, true and predicted masks")
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return figure_result(fig, path, dpi=110)


def run_confusion(ref, code: str | None = None) -> tuple[np.ndarray, list[str]]:
    """The confusion matrix of `convzoo eval` on the run's test set."""
    result = evaluate_run(ref, code=code)
    return result.confusion, result.classes


def plot_confusion(confusion: np.ndarray, classes: list[str], path=None, title: str = ""):
    """Counts and row-normalised (recall) side by side; rows are the true classes."""
    confusion = np.asarray(confusion)
    normalised = confusion / np.maximum(confusion.sum(1, keepdims=True), 1)
    k = len(classes)
    side = max(4.0, 0.45 * k + 2)
    fig = new_figure(figsize=(2 * side + 1, side), dpi=DPI, layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, values, label, fmt in ((axes[0], confusion, "counts", "d"),
                                   (axes[1], normalised, "normalised by true class", ".2f")):
        ax.imshow(values, cmap="Blues")
        ax.set(xticks=range(k), yticks=range(k), xlabel="predicted", ylabel="true", title=label)
        ax.set_xticklabels(classes, rotation=60, ha="right", fontsize=7)
        ax.set_yticklabels(classes, fontsize=7)
        if k <= 20:
            high = values.max() / 2
            for i in range(k):
                for j in range(k):
                    ax.text(j, i, format(values[i, j], fmt), ha="center", va="center", fontsize=6,
                            color="white" if values[i, j] > high else "black")
    accuracy = np.trace(confusion) / max(confusion.sum(), 1)
    fig.suptitle(f"{title}  accuracy {accuracy:.4f} on {confusion.sum():,} examples".strip(), fontsize=10)
    return figure_result(fig, path, dpi=DPI)


def plot_mistakes(result: RunEvaluation, path=None, n: int = 36, title: str = ""):
    """The `n` most confident wrong predictions, most confident first."""
    if n < 1:
        raise ConvzooError("-n must be at least 1")
    if result.probabilities is None:
        raise ConvzooError("mistakes are drawn for classifiers; a segmentation run's are in its confusion matrix")
    confidence, predicted = result.probabilities.max(1)
    wrong = (predicted != result.labels).nonzero().flatten()
    if len(wrong) == 0:
        raise ConvzooError("no mistakes on the test set: nothing to show")
    chosen = wrong[confidence[wrong].argsort(descending=True)][:n]
    titles = [f"{_short(result.classes[result.labels[i]])} → {_short(result.classes[predicted[i]])}\n"
              f"{confidence[i]:.2f}" for i in chosen.tolist()]
    heading = f"{title} most confident mistakes (true → predicted, confidence); {len(wrong):,} of " \
              f"{len(result.labels):,} wrong".strip()
    return image_grid(result.images[chosen].numpy(), titles, path, title=heading)


def _short(name: str, width: int = 12) -> str:
    return name if len(name) <= width else name[:width - 1] + "…"


# ---- curves ----------------------------------------------------------------------------------
def run_history(ref) -> list[dict]:
    """A run's metrics.jsonl rows (or the history its checkpoint carries)."""
    run = Path(ref)
    metrics = run / "metrics.jsonl"
    if run.is_dir() and metrics.is_file():
        try:
            return [json.loads(line) for line in metrics.read_text().splitlines() if line.strip()]
        except json.JSONDecodeError as exc:
            raise ConvzooError(f"{metrics}: not JSON lines ({exc})") from None
    history = load_checkpoint(ref).get("history")
    if not history:
        raise ConvzooError(f"{ref}: no metrics.jsonl and no history in its checkpoint")
    return history


def plot_runs(refs: list[str], path=None):
    """Loss and accuracy of one or several runs, overlaid."""
    histories: dict[str, list[dict]] = {}
    for ref in refs:
        label = Path(str(ref).rstrip("/")).name or str(ref)
        while label in histories:
            label += "'"
        histories[label] = run_history(ref)
    return plot_curves(histories, path)
