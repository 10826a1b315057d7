"""A run's evaluations: any batches (the test set by default) with the weights that are evaluated
(the moving average when EMA is on), optionally averaged over the TTA views, and the metrics an
epoch's row records (validation, test, and at the end test-time augmentation).

`Evaluator(model, batches, num_classes, autocast, task)`: under DDP every process evaluates its
share and the counts are summed (distributed.all_reduce_sum), so every rank gets the same numbers.
"""

from __future__ import annotations

from torch import nn

from . import distributed
from .loaders import RunBatches
from .metrics import Evaluation, evaluate, evaluate_plain_and_tta
from .tasks import Task


class Evaluator:
    def __init__(self, model: nn.Module, batches: RunBatches, num_classes: int, autocast, task: Task):
        self.model, self.batches, self.num_classes = model, batches, num_classes
        self.autocast, self.task = autocast, task

    def evaluate(self, batches=None, tta: bool = False) -> Evaluation:
        """`batches` (the test set when None), averaged over the TTA views when `tta`."""
        return evaluate(self.model, batches or self.batches.test, self.num_classes, self.autocast,
                        self.batches.tta_views if tta else None, task=self.task, reduce=distributed.all_reduce_sum)

    def epoch_metrics(self, tta: bool, test: bool = True) -> tuple[dict, Evaluation | None]:
        """An epoch's evaluation columns (val_*, test_*, and tta_test_* when `tta`) and the test
        evaluation that is saved (the TTA one when `tta`; None when `test` is False: the test set
        is not read)."""
        row = metrics_row("val", self.evaluate(self.batches.val)) if self.batches.val is not None else {}
        if not test:
            return row, None
        if not tta:
            evaluation = self.evaluate()
            return {**row, **metrics_row("test", evaluation)}, evaluation
        plain, evaluation = evaluate_plain_and_tta(self.model, self.batches.test, self.num_classes, self.autocast,
                                                   self.batches.tta_views, task=self.task,
                                                   reduce=distributed.all_reduce_sum)
        return {**row, **metrics_row("test", plain), **metrics_row("tta_test", evaluation)}, evaluation


def metrics_row(prefix: str, evaluation: Evaluation) -> dict:
    row = {f"{prefix}_loss": evaluation.loss, f"{prefix}_acc": evaluation.accuracy}
    if evaluation.task == "segmentation":
        row[f"{prefix}_miou"] = evaluation.mean_iou
    return row
