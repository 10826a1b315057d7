"""Evaluation: accuracy, loss, per-class accuracy and the confusion matrix in one pass."""

from __future__ import annotations

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


def predict_logits(model, batches, autocast) -> tuple[torch.Tensor, torch.Tensor]:
    """(logits fp32, labels) for every batch, in order, without building a graph."""
    model.eval()
    outputs, labels = [], []
    with torch.inference_mode(), autocast():
        for x, y in batches:
            outputs.append(model(x).float())
            labels.append(y)
    return torch.cat(outputs), torch.cat(labels)


def evaluate(model, batches, num_classes: int, autocast) -> Evaluation:
    logits, labels = predict_logits(model, batches, autocast)
    loss = F.cross_entropy(logits, labels).item()
    predicted = logits.argmax(1)
    confusion = torch.bincount(labels * num_classes + predicted, minlength=num_classes**2)
    return Evaluation(loss, (predicted == labels).double().mean().item(),
                      confusion.reshape(num_classes, num_classes).cpu())
