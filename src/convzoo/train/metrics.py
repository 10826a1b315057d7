"""Evaluation: accuracy, loss, per-class accuracy and the confusion matrix in one pass, optionally
with test-time augmentation (logits averaged over flipped and shifted views of each batch)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class Evaluation:
    loss: float
    accuracy: float
    confusion: torch.Tensor  # (classes, classes) int64, rows = true class, columns = predicted

    @property
    def per_class_accuracy(self) -> list[float]:
        totals = self.confusion.sum(1).clamp(min=1)
        return (self.confusion.diag().double() / totals).tolist()

    def to_dict(self, classes=None) -> dict:
        return {"loss": self.loss, "accuracy": self.accuracy,
                "per_class_accuracy": dict(zip(classes, self.per_class_accuracy)) if classes
                else self.per_class_accuracy,
                "confusion": self.confusion.tolist()}


Views = Callable[[torch.Tensor], list[torch.Tensor]]


def shift_images(x: torch.Tensor, dy: int, dx: int, fill: torch.Tensor) -> torch.Tensor:
    """Move the content of (N, C, H, W) `x` down by dy and right by dx pixels; uncovered pixels
    get `fill` ((1, C, 1, 1): the normalised value of a black pixel, as translate augmentation pads)."""
    h, w = x.shape[-2:]
    p = max(abs(dy), abs(dx))
    padded = F.pad(x - fill, (p, p, p, p)) + fill  # (N, C, H + 2p, W + 2p)
    return padded[..., p - dy:p - dy + h, p - dx:p - dx + w]


def tta_views(x: torch.Tensor, *, flip: bool, fill: torch.Tensor, shift: int = 1) -> list[torch.Tensor]:
    """Identity, its mirror image (if `flip`), and each of those moved by `shift` pixels up-left and
    down-right (if `shift`): up to 6 views."""
    base = [x, x.flip(-1)] if flip else [x]
    shifted = [shift_images(v, d, d, fill) for v in base for d in (-shift, shift)] if shift else []
    return base + shifted


def predict_logits(model, batches, autocast, views: Views | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(logits fp32, labels) for every batch, in order, without building a graph. With `views`, a
    batch's logits are the mean of the model's logits over `views(batch)`."""
    if views is not None:
        logits, labels = predict_view_logits(model, batches, autocast, views)
        return logits.mean(0), labels
    model.eval()
    outputs, labels = [], []
    with torch.inference_mode(), autocast():
        for x, y in batches:
            outputs.append(model(x).float())
            labels.append(y)
    return torch.cat(outputs), torch.cat(labels)


def predict_view_logits(model, batches, autocast, views: Views) -> tuple[torch.Tensor, torch.Tensor]:
    """(logits fp32 of shape (views, N, classes), labels): the model's logits for each view."""
    model.eval()
    outputs, labels = [], []
    with torch.inference_mode(), autocast():
        for x, y in batches:
            outputs.append(torch.stack([model(v).float() for v in views(x)]))
            labels.append(y)
    return torch.cat(outputs, 1), torch.cat(labels)


def evaluate(model, batches, num_classes: int, autocast, views: Views | None = None) -> Evaluation:
    return _evaluation(*predict_logits(model, batches, autocast, views), num_classes)


def evaluate_plain_and_tta(model, batches, num_classes: int, autocast, views: Views) -> tuple[Evaluation, Evaluation]:
    """The plain and the test-time-augmented evaluation from one pass: `views(x)[0]` is `x` itself
    (as `tta_views` returns it), so the plain logits are the first view's."""
    logits, labels = predict_view_logits(model, batches, autocast, views)
    return _evaluation(logits[0], labels, num_classes), _evaluation(logits.mean(0), labels, num_classes)


def _evaluation(logits: torch.Tensor, labels: torch.Tensor, num_classes: int) -> Evaluation:
    loss = F.cross_entropy(logits, labels).item()
    predicted = logits.argmax(1)
    confusion = torch.bincount(labels * num_classes + predicted, minlength=num_classes**2)
    return Evaluation(loss, (predicted == labels).double().mean().item(),
                      confusion.reshape(num_classes, num_classes).cpu())


def checkpoint_test_set(payload: dict, name: str | None = None, data_dir=None):
    """The test set a checkpoint was evaluated on (same data dir, holdout and seed), or the test set
    of another dataset `name` of the same shape, normalised as the model was trained."""
    from ..data import load_dataset
    from ..errors import ConvzooError

    trained_on, config = payload["data"], payload.get("config", {})
    same = name in (None, trained_on["name"])
    name = trained_on["name"] if same else name
    bundle = load_dataset(name, data_dir or (config.get("data_dir") if same else None),
                          test_holdout=config.get("test_holdout") if same else None,
                          seed=config.get("seed", 0))
    test = bundle.test
    if list(test.shape) != list(trained_on["shape"]) or len(test.classes) != len(trained_on["classes"]):
        raise ConvzooError(f"{name} ({'x'.join(map(str, test.shape))}, {len(test.classes)} classes) does not "
                           f"fit this model (trained on {trained_on['name']})")
    test.mean, test.std = tuple(trained_on["mean"]), tuple(trained_on["std"])
    return test
