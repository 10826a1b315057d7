"""Evaluation: loss, accuracy, per-class accuracy and the confusion matrix in one streaming pass,
for classification and segmentation (pixel accuracy, IoU per class), optionally with test-time
augmentation (logits averaged over flipped and shifted views of each batch), and summed over
processes when training runs under DDP."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .tasks import CLASSIFICATION, Task


@dataclass
class Evaluation:
    loss: float  # mean cross-entropy per prediction (per image, or per pixel)
    accuracy: float  # per image, or per pixel
    confusion: torch.Tensor  # (classes, classes) int64, rows = true class, columns = predicted
    task: str = "classification"

    @property
    def per_class_accuracy(self) -> list[float]:
        totals = self.confusion.sum(1).clamp(min=1)
        return (self.confusion.diag().double() / totals).tolist()

    @property
    def per_class_iou(self) -> list[float | None]:
        """Intersection over union per class; None for a class absent from both truth and prediction."""
        c = self.confusion.double()
        union = c.sum(0) + c.sum(1) - c.diag()
        return [None if u == 0 else i / u for i, u in zip(c.diag().tolist(), union.tolist())]

    @property
    def mean_iou(self) -> float:
        present = [v for v in self.per_class_iou if v is not None]
        return sum(present) / max(len(present), 1)

    def to_dict(self, classes=None) -> dict:
        def by_class(values):
            return dict(zip(classes, values)) if classes else values

        d = {"task": self.task, "loss": self.loss, "accuracy": self.accuracy,
             "per_class_accuracy": by_class(self.per_class_accuracy), "confusion": self.confusion.tolist()}
        if self.task == "segmentation":
            d.update(pixel_accuracy=self.accuracy, mean_iou=self.mean_iou,
                     per_class_iou=by_class(self.per_class_iou))
        return d


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


def evaluate(model, batches, num_classes: int, autocast, views: Views | None = None, *,
             task: Task = CLASSIFICATION, reduce: Callable[[torch.Tensor], torch.Tensor] | None = None) -> Evaluation:
    """Loss, accuracy and the confusion matrix in one streaming pass (only counts are kept, so a
    segmentation test set's per-pixel logits never pile up). With `views`, a batch's logits are the
    mean over `views(batch)`; a view may be a pair (tensor, undo), `undo` mapping its output back
    (a mirrored mask). `reduce` sums the counts over processes (DDP), so every rank gets the numbers
    of the whole test set."""
    return _streaming_evaluation(model, batches, num_classes, autocast, views, task, reduce)[-1]


def evaluate_plain_and_tta(model, batches, num_classes: int, autocast, views: Views, *,
                           task: Task = CLASSIFICATION, reduce=None) -> tuple[Evaluation, Evaluation]:
    """The plain and the test-time-augmented evaluation from one pass: the first view is the batch
    itself (as `tta_views` returns it), so the plain logits are the first view's."""
    return tuple(_streaming_evaluation(model, batches, num_classes, autocast, views, task, reduce))


def _streaming_evaluation(model, batches, num_classes, autocast, views, task, reduce) -> list[Evaluation]:
    model.eval()
    passes = 2 if views is not None else 1  # plain, and the mean over the views
    sums = None  # per pass: summed loss, predictions, confusion counts
    with torch.inference_mode(), autocast():
        for x, y in batches:
            if views is None:
                outputs = [model(x).float()]
            else:
                pairs = [(v, None) if isinstance(v, torch.Tensor) else v for v in views(x)]
                each = [model(v).float() if undo is None else undo(model(v).float()) for v, undo in pairs]
                outputs = [each[0], torch.stack(each).mean(0)]
            if sums is None:
                sums = torch.zeros(passes, 2 + num_classes**2, dtype=torch.float64, device=y.device)
            for i, logits in enumerate(outputs):
                sums[i, 0] += F.cross_entropy(logits, y, reduction="sum").double()
                sums[i, 1] += task.predictions(y)
                sums[i, 2:] += task.confusion(logits, y, num_classes).flatten().double()
    if sums is None:  # this process's share of the test set is empty
        sums = torch.zeros(passes, 2 + num_classes**2, dtype=torch.float64)
    if reduce is not None:
        sums = reduce(sums)
    results = []
    for row in sums.cpu():
        count = max(row[1].item(), 1)
        confusion = row[2:].round().long().reshape(num_classes, num_classes)
        results.append(Evaluation(row[0].item() / count, confusion.diag().sum().item() / count, confusion, task.name))
    return results


def checkpoint_test_set(payload: dict, name: str | None = None, data_dir=None, *, force: bool = False):
    """The test set a checkpoint was evaluated on (same data dir, holdout and seed), or the test set
    of another dataset `name` of the same shape and classes, normalised as the model was trained.

    A dataset whose class names differ from the checkpoint's is refused unless `force`: its labels
    mean other things, so the model's answers would be scored against the wrong classes."""
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
    if list(test.classes) != list(trained_on["classes"]) and not force:
        raise ConvzooError(f"{name}'s classes ({_few(test.classes)}) are not this model's ({_few(trained_on['classes'])}, "
                           f"from {trained_on['name']}): its answers would be scored against other classes; "
                           "--force evaluates anyway")
    test.mean, test.std = tuple(trained_on["mean"]), tuple(trained_on["std"])
    return test


def _few(names, shown: int = 3) -> str:
    return ", ".join(list(names)[:shown]) + (", ..." if len(names) > shown else "")


@dataclass
class CheckpointEvaluation:
    """A checkpoint evaluated on a test set: what `convzoo eval`, `report` and `show` all print."""

    data: str  # the dataset's name
    test: object  # the ArrayDataset evaluated
    evaluation: Evaluation
    precision: str  # what the forward passes ran in: the run's own precision
    logits: torch.Tensor | None = None  # (N, classes) fp32, classification, when asked for

    @property
    def classes(self) -> list[str]:
        return list(self.test.classes)


@dataclass
class PreparedCheckpoint:
    """A checkpoint's model, on the device and in the memory format its run used, and its test
    batches: what `evaluate_checkpoint` and `mc_dropout_checkpoint` share."""

    model: torch.nn.Module
    payload: dict
    test: object  # the ArrayDataset
    task: Task
    runtime: object  # train.runtime.Runtime (its precision and autocast)
    batches: object  # a BatchLoader over `test`


def prepare_checkpoint(ref, name: str | None = None, data_dir=None, *, force: bool = False,
                       model=None, code: str | None = None) -> PreparedCheckpoint:
    """Load checkpoint `ref` the way its run evaluated: the precision and memory format the run
    trained with (the checkpoint's "setup"), its evaluation batch size, on its own test set (or
    dataset `name`'s, see `checkpoint_test_set`). `code` rebuilds the user's own model (the CLI's
    --code FILE.py)."""
    from ..data import BatchLoader
    from .checkpoint import model_from_checkpoint
    from .runtime import Runtime
    from .tasks import task_of_targets

    model, payload = model_from_checkpoint(ref, model=model, code=code)
    test = checkpoint_test_set(payload, name, data_dir, force=force)
    task = task_of_targets(test.labels)
    setup, config = payload.get("setup", {}), payload.get("config", {})
    precision = setup.get("precision", "fp32")
    if precision == "fp16" and not torch.cuda.is_available():
        precision = "fp32"  # a CUDA run evaluated on a CPU: the nearest is fp32
    runtime = Runtime.create(precision=precision, progress=False)
    channels_last = bool(setup.get("channels_last"))
    model.to(runtime.device, memory_format=torch.channels_last if channels_last else torch.contiguous_format)
    batch_size = max(config.get("batch_size") or 0, 512 if task.name == "classification" else 64)
    batches = BatchLoader(test, batch_size, device=runtime.device, channels_last=channels_last)
    return PreparedCheckpoint(model, payload, test, task, runtime, batches)


def evaluate_checkpoint(ref, name: str | None = None, data_dir=None, *, force: bool = False,
                        keep_logits: bool = False, model=None, code: str | None = None) -> CheckpointEvaluation:
    """Evaluate checkpoint `ref` (a file, run directory or pretrained name) the way its run did
    (see `prepare_checkpoint`). The one evaluation path of `convzoo eval`, `convzoo report` and
    `convzoo show`, so they agree with each other and with the run's last test accuracy.
    `keep_logits` also returns every test example's logits (classification), from the same
    forward passes."""
    ready = prepare_checkpoint(ref, name, data_dir, force=force, model=model, code=code)
    model, test, task = ready.model, ready.test, ready.task
    kept: list[torch.Tensor] = []
    hook = None
    if keep_logits and task.name == "classification":
        hook = model.register_forward_hook(lambda _module, _inputs, output: kept.append(output.detach().float().cpu()))
    try:
        evaluation = evaluate(model, ready.batches, len(test.classes), ready.runtime.autocast, task=task)
    finally:
        if hook is not None:
            hook.remove()
    return CheckpointEvaluation(name or ready.payload["data"]["name"], test, evaluation, ready.runtime.precision,
                                torch.cat(kept) if kept else None)


def format_epoch(row: dict) -> str:
    """One epoch's log line: train, val, test and TTA loss/accuracy (and mIoU), lr, speed, time."""
    def part(prefix, label):
        if f"{prefix}_acc" not in row:
            return ""
        miou = f" miou {row[f'{prefix}_miou']:.4f}" if f"{prefix}_miou" in row else ""
        return f"  {label} {row[f'{prefix}_loss']:.4f}/{row[f'{prefix}_acc']:.4f}{miou}"

    return (f"epoch {row['epoch']:3d}  train {row['train_loss']:.4f}/{row['train_acc']:.4f}{part('val', 'val')}"
            f"{part('test', 'test')}{part('tta_test', 'tta')}  lr {row['lr']:.4g}  "
            f"{row['examples_per_sec']:,.0f} ex/s  {row['seconds']:.1f}s")

