"""A run's compute: images seen and FLOPs, the yardstick that is the same on every machine.

Seconds on a shared CPU are not a stable measure; the work done is. As the CIFAR-10 speedruns
report it (airbench: images seen and training FLOPs), a run here reports:
- `images_seen`: training examples processed, over all epochs (augmented views count once each);
- `train_flops`: the forward and backward of every training step, counted by torch's
  `FlopCounterMode` on a two-image batch of each image size the run trains at (progressive
  resizing trains at several) and scaled by the images seen at that size, plus the optimiser's own
  matrix products per step (Muon's Newton-Schulz iterations; SGD's update has none);
- `eval_flops`: the forward passes of the evaluations (the test set after every epoch, or once
  with --test-once; the validation set when there is one; the TTA views of the final evaluation).

FlopCounterMode counts convolutions (grouped, transposed), linear layers and matrix products, two
FLOPs per multiply-add. Not counted: batch norm, activations, pooling, other element-wise work, the
loss, SGD's element-wise update, data augmentation and the one-off fit of fastnet's whitened stem.
Counting runs on the meta device: no arithmetic, no memory, a fraction of a second.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

COUNTED = ("forward + backward of convolutions, linear layers and matrix products (2 FLOPs per "
           "multiply-add), and the optimiser's matrix products; not batch norm, activations, pooling, "
           "element-wise ops or augmentation")


@dataclass
class Compute:
    images_seen: int
    train_flops: float
    eval_flops: float
    train_flops_per_image: float  # at full size, forward + backward
    optimizer_flops_per_step: float
    counted: str = COUNTED

    def to_dict(self) -> dict:
        return asdict(self)


def _counted(fn) -> int:
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def _on_meta(model: nn.Module) -> nn.Module:
    """A copy of `model` on the meta device (shapes only), in training mode."""
    return copy.deepcopy(model).to("meta").train()


def step_flops_per_image(model: nn.Module, image_shape: tuple[int, ...]) -> float:
    """FLOPs of one training forward + backward, per image of `image_shape` (C, H, W): counted on
    two images (batch norm needs more than one in training mode) and halved."""
    meta = _on_meta(model)
    x = torch.zeros((2, *image_shape), device="meta")

    def step():
        outputs = meta(x)
        outputs = outputs if isinstance(outputs, (tuple, list)) else [outputs]  # auxiliary heads too
        sum(o.float().sum() for o in outputs).backward()

    return _counted(step) / 2


def forward_flops_per_image(model: nn.Module, image_shape: tuple[int, ...]) -> float:
    meta = _on_meta(model).eval()
    x = torch.zeros((2, *image_shape), device="meta")
    with torch.no_grad():
        return _counted(lambda: meta(x)) / 2


def optimizer_flops(optimizer) -> float:
    """Matrix-product FLOPs of one optimiser step: Muon's orthogonalisation of each hidden weight's
    update (the update reshaped to (out, in * k * k), as train/optim.py does); 0 for SGD and AdamW."""
    from .optim import orthogonalize

    groups = getattr(optimizer, "param_groups", [])
    shapes = [(len(p), p[0].numel()) for g in groups if g.get("muon") for p in g["params"]]
    return float(sum(_counted(lambda s=s: orthogonalize(torch.zeros(s, device="meta"))) for s in shapes))


def run_compute(trainer) -> Compute | None:
    """The compute of `trainer`'s run so far (`trainer.epoch` epochs), from its config and data;
    None for a model that cannot run on the meta device (a user's model that calls NumPy, say)."""
    try:
        return _run_compute(trainer)
    except Exception:  # noqa: BLE001 - counting is a report: a model it cannot trace loses only the count
        return None


def _run_compute(trainer) -> Compute:
    config, data = trainer.config, trainer.data
    image_shape = tuple(data.train.shape)
    channels = image_shape[0] if len(image_shape) == 3 else 1
    per_epoch = _images_per_epoch(trainer.train_batches, len(data.train))
    images, train_flops, cache = 0, 0.0, {}
    for epoch in range(trainer.epoch):
        size = trainer.epoch_image_size(epoch)
        shape = image_shape if size is None else (channels, *size)
        if shape not in cache:
            cache[shape] = step_flops_per_image(trainer.model, shape)
        images += per_epoch
        train_flops += per_epoch * cache[shape]
    full = cache.get(image_shape) or step_flops_per_image(trainer.model, image_shape)
    step_opt = optimizer_flops(trainer.optimizer)
    train_flops += step_opt * trainer.step
    forward = forward_flops_per_image(trainer.model, image_shape)
    test_reads = min(trainer.epoch, 1) if config.test_once else trainer.epoch
    evaluated = test_reads * len(data.test) + trainer.epoch * (len(data.val) if trainer.val_batches is not None else 0)
    if config.tta and trainer.epoch == config.epochs:
        evaluated += len(data.test) * (_tta_views(trainer) - 1)  # the plain view is counted already
    return Compute(images, train_flops, forward * evaluated, full, step_opt)


def _images_per_epoch(loader, n: int) -> int:
    if getattr(loader, "drop_last", False):
        return len(loader) * loader.batch_size
    return n


def _tta_views(trainer) -> int:
    """How many views the final TTA evaluation averages (the first is the plain batch)."""
    return len(trainer.tta_views(torch.zeros((1, *trainer.data.train.shape))))
