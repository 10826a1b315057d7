"""Batches drawn by index from a resident uint8 dataset, augmented as whole batches.

The per-sample DataLoader costs more than LeNet's forward and backward on these CPUs (DESIGN.md),
so a batch here is one indexing operation, one vectorised augmentation and one fused normalise.
All randomness comes from one `torch.Generator` the caller owns, so a checkpoint can save it and
a resumed run draws exactly the batches the uninterrupted run would have.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import torch

from .datasets import ArrayDataset


@dataclass(frozen=True)
class Augment:
    translate: int = 0  # random shift of up to ± this many pixels (zero padding, then crop)
    flip: bool = False  # random horizontal flip (only for datasets where it keeps the label)

    @classmethod
    def parse(cls, text: str, flippable: bool = True) -> Augment:
        """'none', 'flip', 'crop' (translate 2), 'crop4', 'crop+flip', 'auto'."""
        text = text.lower()
        if text in ("none", "", "off"):
            return cls()
        flip, translate = False, 0
        for part in text.split("+"):
            if part == "auto":
                translate, flip = 2, flippable
            elif part == "flip":
                flip = True
            elif match := re.fullmatch(r"(?:crop|translate)(\d*)", part):
                translate = int(match.group(1) or 2)
            else:
                raise ValueError(f"unknown augmentation {part!r} (use none, flip, crop, crop4, crop+flip, auto)")
        return cls(translate=translate, flip=flip)

    def __bool__(self) -> bool:
        return bool(self.translate or self.flip)


def translate_batch(images: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Shift each image by its own random (dy, dx) in [-max_shift, max_shift], filling with zeros."""
    n, _, h, w = images.shape
    p = max_shift
    padded = torch.nn.functional.pad(images, (p, p, p, p))  # (N, C, H+2p, W+2p)
    offsets = torch.randint(0, 2 * p + 1, (2, n), generator=generator, device=images.device)
    # Every (H, W) window of the padded image as a view, then one gather of each image's window:
    # five times faster than indexing rows and columns separately.
    windows = padded.unfold(2, h, 1).unfold(3, w, 1)  # (N, C, 2p+1, 2p+1, H, W)
    return windows[torch.arange(n, device=images.device), :, offsets[0], offsets[1]]  # (N, C, H, W)


def flip_batch(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    mask = torch.rand(len(images), generator=generator, device=images.device) < 0.5
    return torch.where(mask[:, None, None, None], images.flip(-1), images)


def augment_batch(images: torch.Tensor, augment: Augment, generator: torch.Generator) -> torch.Tensor:
    if augment.translate:
        images = translate_batch(images, augment.translate, generator)
    if augment.flip:
        images = flip_batch(images, generator)
    return images


class Normalizer:
    """uint8 (N, C, H, W) -> float, (x/255 - mean)/std as one multiply-add per element."""

    def __init__(self, mean, std, device="cpu", channels_last: bool = False):
        std = torch.tensor(std, dtype=torch.float32, device=device)[None, :, None, None]
        mean = torch.tensor(mean, dtype=torch.float32, device=device)[None, :, None, None]
        self.scale, self.shift = 1 / (255 * std), -mean / std
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        x = torch.addcmul(self.shift, images.to(torch.float32), self.scale)
        return x.contiguous(memory_format=self.memory_format)


class BatchLoader:
    """Iterate (inputs, labels) batches over an in-memory dataset.

    `rank`/`world_size` shard each epoch's permutation the way DistributedSampler does, so that
    multi-process training only has to pass them in.
    """

    def __init__(self, data: ArrayDataset, batch_size: int, *, shuffle: bool = False,
                 augment: Augment = Augment(), drop_last: bool = False, device="cpu",
                 channels_last: bool = False, generator: torch.Generator | None = None,
                 rank: int = 0, world_size: int = 1):
        self.images = data.images.to(device)
        self.labels = data.labels.to(device)
        self.batch_size, self.shuffle, self.augment, self.drop_last = batch_size, shuffle, augment, drop_last
        self.normalize = Normalizer(data.mean, data.std, device, channels_last)
        self.generator = generator if generator is not None else torch.Generator().manual_seed(0)
        self.rank, self.world_size = rank, world_size

    def _indices(self) -> torch.Tensor:
        n = len(self.labels)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        return order[self.rank::self.world_size]

    def __len__(self) -> int:
        n = len(range(self.rank, len(self.labels), self.world_size))
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self):
        index = self._indices().to(self.images.device)
        for start in range(0, len(index), self.batch_size):
            batch = index[start:start + self.batch_size]
            if self.drop_last and len(batch) < self.batch_size:
                break
            images = self.images[batch]
            if self.augment:
                images = augment_batch(images, self.augment, self.generator)
            yield self.normalize(images), self.labels[batch]
