"""Seeded subsets of a training set, for quick experiments and for the studies (`--train-size`)."""

from __future__ import annotations

import torch

from ..errors import DataError
from .datasets import ArrayDataset, DataBundle


def balanced_subset(data: ArrayDataset, size: int, seed: int) -> ArrayDataset:
    """`size` examples chosen by `seed`, as evenly over the classes as the data allows: each class
    gets size // classes (the first size % classes classes in a seeded order one more), and a class
    with too few examples gives all it has, the rest going to the others. Segmentation data (masks)
    has no class per example: a plain seeded random subset."""
    if not 1 <= size <= len(data):
        raise DataError(f"--train-size must be between 1 and the {len(data):,} training examples, not {size}")
    generator = torch.Generator().manual_seed(seed)
    if size == len(data):
        return data
    if data.labels.ndim != 1:
        return data.subset(torch.randperm(len(data), generator=generator)[:size].sort().values)
    labels = data.labels
    classes = int(labels.max()) + 1
    pools = [torch.nonzero(labels == k).flatten() for k in range(classes)]
    pools = [pool[torch.randperm(len(pool), generator=generator)] for pool in pools]
    quota = [0] * classes
    remaining = size
    while remaining:  # deal one per class per round, in a seeded class order, until the size is met
        open_classes = [k for k in torch.randperm(classes, generator=generator).tolist() if quota[k] < len(pools[k])]
        for k in open_classes[:remaining]:
            quota[k] += 1
        remaining = size - sum(quota)
    chosen = torch.cat([pool[:q] for pool, q in zip(pools, quota)])
    return data.subset(chosen.sort().values)


def with_train_size(bundle: DataBundle, size: int | None, seed: int) -> DataBundle:
    """The bundle with its training set cut to `size` examples (None: unchanged); the notes say so."""
    if size is None or size == len(bundle.train):
        return bundle
    full = len(bundle.train)
    bundle.train = balanced_subset(bundle.train, size, seed)
    kind = "class-balanced " if bundle.train.labels.ndim == 1 else ""
    bundle.notes.append(f"training on a {kind}subset of {size:,} of the {full:,} training examples (seed {seed})")
    return bundle
