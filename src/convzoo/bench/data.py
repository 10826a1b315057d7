"""`convzoo bench data`: one epoch of augmented batches (no model) against the textbook DataLoader."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

import torch

from ..data import Augment, BatchLoader, DataBundle
from ..timing import seconds_of


@dataclass
class DataBench:
    examples: int
    batch_size: int
    convzoo_seconds: list[float]  # per epoch, whole-batch translate + flip
    textbook_seconds: list[float]  # per epoch, per-sample DataLoader over float tensors (no augmentation)

    @property
    def convzoo(self) -> float:
        return statistics.median(self.convzoo_seconds)

    @property
    def textbook(self) -> float:
        return statistics.median(self.textbook_seconds)


def bench_data(bundle: DataBundle, batch_size: int = 128, rounds: int = 3, augment: str = "crop+flip",
               textbook: bool = True) -> DataBench:
    """Seconds for one epoch of training batches (index, augment, normalise), alternating with the
    textbook DataLoader epoch (which does less: no augmentation)."""
    train = bundle.train
    loader = BatchLoader(train, batch_size, shuffle=True, augment=Augment.parse(augment, train.flippable),
                         channels_last=True, generator=torch.Generator().manual_seed(0))
    mean = torch.tensor(train.mean)[None, :, None, None]
    std = torch.tensor(train.std)[None, :, None, None]
    dataset = torch.utils.data.TensorDataset((train.images.float() / 255 - mean) / std, train.labels)
    textbook_loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=True)

    def epoch(batches):
        for _ in batches:
            pass

    ours, theirs = [], []
    for _ in range(max(rounds, 1)):
        ours.append(seconds_of(lambda: epoch(loader)))
        if textbook:
            theirs.append(seconds_of(lambda: epoch(textbook_loader)))
    return DataBench(len(train), batch_size, ours, theirs)
