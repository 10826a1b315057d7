"""A run's batches: the shuffled, augmented training batches (this process's share under DDP), the
evaluation batches, and the test-time views that match what training showed."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass

import torch

from ..data import Augment, BatchLoader, DataBundle
from ..errors import ConvzooError
from .config import TrainConfig
from .metrics import tta_views


@dataclass
class RunBatches:
    train: BatchLoader
    test: BatchLoader
    val: BatchLoader | None
    tta_views: Callable  # batch -> the views the final TTA evaluation averages


def make_batches(config: TrainConfig, runtime, data: DataBundle, task_name: str, channels_last: bool,
                 generator: torch.Generator) -> RunBatches:
    train = data.train
    try:
        augment = Augment.parse(config.augment, flippable=train.flippable)
    except ValueError as exc:
        raise ConvzooError(str(exc)) from None
    if augment.translate and 2 * augment.translate >= min(train.shape[1:]):
        raise ConvzooError(f"--augment {config.augment}: a shift of {augment.translate} pixels is not smaller "
                           f"than half the {train.shape[1]}x{train.shape[2]} image")
    if augment.erase and task_name != "classification":
        raise ConvzooError(f"--augment {config.augment}: erasing is for classification (a {task_name} target "
                           "would still label the pixels the noise hides)")
    if (augment.elastic or augment.affine) and task_name != "classification":
        raise ConvzooError(f"--augment {config.augment}: elastic and affine distortion are for classification "
                           "(a mask would have to be resampled with its image)")
    if augment.planar and task_name != "classification":
        raise ConvzooError(f"--augment {config.augment}: planar distortion is for classification (a {task_name} "
                           "mask would not move with its image)")
    loader_args = {"device": runtime.device, "channels_last": channels_last, "rank": runtime.rank,
                   "world_size": runtime.world_size}
    train_batches = BatchLoader(train, config.batch_size, shuffle=True, augment=augment,
                                drop_last=len(train) > config.batch_size, generator=generator, **loader_args)
    eval_size = max(config.batch_size // runtime.world_size, 512 if task_name == "classification" else 64)
    test = BatchLoader(data.test, eval_size, **loader_args)
    val = BatchLoader(data.val, eval_size, **loader_args) if data.val else None
    # TTA shows the views training showed (a view the model never saw costs accuracy); without
    # augmentation, the mirror image where it keeps the label. A mask is mirrored back.
    flip = augment.flip or (not augment and train.flippable)
    if task_name == "segmentation":
        views = functools.partial(mirror_views, flip=flip)
    else:
        views = functools.partial(tta_views, flip=flip, shift=1 if augment.translate else 0,
                                  fill=test.normalize.shift)
    return RunBatches(train_batches, test, val, views)


# LeNet-5's input scaling (LeCun et al. 1998, sec. II.B): background -0.1 and ink 1.175, "which makes the
# mean input roughly 0 and the variance roughly 1". As (x/255 - mean) / std: -0.1 + 1.275 x/255.
LECUN98_MEAN, LECUN98_STD = 0.1 / 1.275, 1 / 1.275


def with_normalization(data: DataBundle, normalize: str) -> DataBundle:
    """The bundle with every split scaled as `normalize` says: "dataset" leaves the training set's mean
    and std; "none" is x / 255 only (d2l's ToTensor); "lecun98" is LeNet-5's scaling. The scaling is
    the splits' mean and std, so the checkpoint records it and inference repeats it."""
    if normalize == "dataset":
        return data
    channels = data.train.shape[0]
    mean, std = (0.0, 1.0) if normalize == "none" else (LECUN98_MEAN, LECUN98_STD)
    scale = {"mean": (mean,) * channels, "std": (std,) * channels}
    splits = {k: dataclasses.replace(getattr(data, k), **scale) for k in ("train", "test", "val") if getattr(data, k)}
    notes = [*data.notes, {"none": "pixels scaled to [0, 1] only (--normalize none)",
                           "lecun98": "pixels scaled as LeNet-5's paper: background -0.1, ink 1.175 (--normalize lecun98)"}
             [normalize]]
    return dataclasses.replace(data, **splits, notes=notes)


def mirror_views(x: torch.Tensor, *, flip: bool) -> list:
    """Segmentation TTA: the image and, where it keeps the labels, its mirror image, whose predicted
    mask is mirrored back before averaging."""
    return [x, (x.flip(-1), lambda out: out.flip(-1))] if flip else [x]


def resize_batch(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Progressive resizing's smaller images (`--progressive`): an antialiased bilinear downscale."""
    return torch.nn.functional.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False)
