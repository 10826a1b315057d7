"""What a model is trained to predict: one class per image, or one class per pixel.

A task turns a model's outputs and the targets into the training loss and the counts the metrics
need. Both tasks count their predictions into one confusion matrix (rows: true class), so the
metrics of both come from it: accuracy (pixel accuracy for segmentation) and, for segmentation,
intersection over union per class (the diagonal over row + column - diagonal).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..errors import ConvzooError

TASKS = ("classification", "segmentation")
AUX_WEIGHT = 0.3  # GoogLeNet (Szegedy et al. 2015, sec. 5): each auxiliary loss weighted by 0.3
# LeNet-5's MAP criterion (LeCun et al. 1998, eq. 9): y_D + log(e^-j + sum_i e^-y_i) for penalties
# y_i, i.e. cross-entropy on the logits -y_i plus a fixed "rubbish class" logit -j. The paper does
# not give j; 0.1 keeps the rubbish class as likely as a class at distance 0.1 from its code.
MAP_J = 0.1


@dataclass(frozen=True)
class Task:
    name: str  # classification | segmentation
    aux_weight: float = AUX_WEIGHT  # weight of each auxiliary classifier's loss (training only)
    class_weights: tuple[float, ...] | None = None  # per-class loss weights (training only; `balanced_weights`)
    criterion: str = "cross-entropy"  # or "map" (MAP_J): what training minimises; metrics report cross-entropy

    @property
    def target_dims(self) -> int:
        return 1 if self.name == "classification" else 3  # (N,) labels or (N, H, W) masks

    def loss_sum(self, outputs, targets: torch.Tensor,
                 label_smoothing: float = 0.0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(the summed loss to minimise, the main head's summed loss, the main logits), sums over every
        prediction. A model in training mode may return (main, aux1, aux2, ...): each auxiliary
        head's loss is added with `aux_weight`; the main loss alone is what the metrics report."""
        main, *aux = outputs if isinstance(outputs, (tuple, list)) else (outputs,)
        weight = None if self.class_weights is None else torch.tensor(self.class_weights, device=main.device)

        def loss(logits, weight=None):
            return F.cross_entropy(logits.float(), targets, weight=weight, reduction="sum",
                                   label_smoothing=label_smoothing)

        main_loss = loss(main)  # what the metrics report: the plain cross-entropy
        total = main_loss if weight is None else loss(main, weight)
        if self.criterion == "map":
            total = map_loss_sum(main, targets)
        for head in aux:
            total = total + self.aux_weight * loss(head, weight)
        return total, main_loss, main

    @staticmethod
    def predictions(targets: torch.Tensor) -> int:
        """How many predictions a batch of targets asks for (images, or pixels)."""
        return targets.numel()

    @staticmethod
    def confusion(logits: torch.Tensor, targets: torch.Tensor, num_classes: int) -> torch.Tensor:
        """(classes, classes) int64 counts of (true, predicted) for a batch: per image or per pixel."""
        predicted = logits.argmax(1)
        return torch.bincount((targets * num_classes + predicted).flatten(),
                              minlength=num_classes**2).reshape(num_classes, num_classes)


def map_loss_sum(logits: torch.Tensor, targets: torch.Tensor, j: float = MAP_J) -> torch.Tensor:
    """The MAP criterion summed over a batch, for logits = minus the penalties (N, classes)."""
    with_rubbish = F.pad(logits.float(), (0, 1), value=-j)  # (N, classes + 1)
    return F.cross_entropy(with_rubbish, targets, reduction="sum")


CLASSIFICATION = Task("classification")
SEGMENTATION = Task("segmentation")


def task_of_targets(targets: torch.Tensor, aux_weight: float = AUX_WEIGHT, num_classes: int | None = None,
                    class_balance: float = 0.0, criterion: str = "cross-entropy") -> Task:
    weights = balanced_weights(targets, num_classes, class_balance) if class_balance else None
    name = "segmentation" if targets.ndim == 3 else "classification"
    if criterion == "map" and (name == "segmentation" or weights is not None):
        raise ConvzooError("--loss map is LeNet-5's criterion for classification, without --class-balance")
    return Task(name, aux_weight, weights, criterion)


def balanced_weights(targets: torch.Tensor, num_classes: int, power: float) -> tuple[float, ...]:
    """w_c = frequency_c^-power over the labels (every pixel of a mask), scaled so that the mean
    weight per label is 1 (sum_c frequency_c w_c = 1): the loss keeps its scale, and the rare
    classes (a digit's pixels against the background) count more. U-Net (Ronneberger et al. 2015)
    balances its loss this way. A class absent from the labels gets weight 0."""
    counts = torch.bincount(targets.flatten(), minlength=num_classes)[:num_classes].double()  # uint8 masks: no copy
    frequency = counts / counts.sum()
    raw = torch.where(counts > 0, frequency.clamp_min(1e-12) ** -power, torch.zeros_like(frequency))
    return tuple((raw / (frequency * raw).sum()).tolist())


def check_fit(model_name: str, outputs, data_name: str, task: Task, num_classes: int,
              target_shape: tuple[int, ...]) -> None:
    """One line that says what fits, when a model's output cannot be trained on a dataset's targets
    (a segmentation model on a classification dataset, or the reverse, or a size mismatch)."""
    main = outputs[0] if isinstance(outputs, (tuple, list)) else outputs
    if not isinstance(main, torch.Tensor):
        raise ConvzooError(f"{model_name} returns {type(main).__name__}, not a tensor of logits")
    per_pixel = main.ndim == 4
    if main.ndim not in (2, 4):
        wanted = f"({main.shape[0]}, {num_classes})" if task.name == "classification" else \
            f"({main.shape[0]}, {num_classes}, {target_shape[0]}, {target_shape[1]})"
        raise ConvzooError(f"{model_name} outputs shape {tuple(main.shape)} for {main.shape[0] if main.ndim else 1} "
                           f"{data_name} examples; {task.name} wants {wanted}, one logit per class")
    if task.name == "classification" and per_pixel:
        raise ConvzooError(f"{model_name} is a segmentation model (it predicts a class per pixel) and "
                           f"{data_name} is a classification dataset; train it on a segmentation dataset "
                           "(digit-scenes, fashion-scenes), or pick a classifier (`convzoo models`)")
    if task.name == "segmentation" and not per_pixel:
        raise ConvzooError(f"{model_name} is a classification model (one class per image) and {data_name} "
                           "is a segmentation dataset (a class per pixel); train a segmentation model such "
                           "as unet_padded on it, or a classifier on a classification dataset")
    if main.shape[1] != num_classes:
        raise ConvzooError(f"{model_name} predicts {main.shape[1]} classes (output shape {tuple(main.shape)}), "
                           f"{data_name} has {num_classes} (wanted {(main.shape[0], num_classes, *main.shape[2:])})")
    if per_pixel and tuple(main.shape[2:]) != tuple(target_shape):
        raise ConvzooError(f"{model_name} predicts {main.shape[2]}x{main.shape[3]} maps for "
                           f"{target_shape[0]}x{target_shape[1]} inputs; a per-pixel loss needs the input's size "
                           "(use a 'same'-padded model such as unet_padded)")
