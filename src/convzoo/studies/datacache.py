"""A study's data: loaded once per seed, its test set cut to the setting's subset, each run's
training subset; and the size of each run's model at the study's input."""

from __future__ import annotations

import dataclasses

from .base import Setting, Study


class DataCache:
    """The dataset loaded once per seed (a held-out test split depends on it), its test set cut to
    the setting's seeded subset, and each run's training subset."""

    def __init__(self, data: str, data_dir, setting: Setting):
        self.data, self.data_dir, self.setting = data, data_dir, setting
        self._loaded: dict[int, object] = {}

    def _base(self, seed: int):
        from ..data import load_dataset
        from ..data.sampling import balanced_subset

        if seed not in self._loaded:
            bundle = load_dataset(self.data, self.data_dir, seed=seed)
            size = self.setting.test_size
            if size and size < len(bundle.test):
                full = len(bundle.test)
                bundle.test = balanced_subset(bundle.test, size, 0)
                bundle.notes.append(f"test set = a class-balanced subset of {size:,} of the {full:,} test "
                                    f"examples (seed 0), the same for every run of the study")
            self._loaded[seed] = bundle
        return self._loaded[seed]

    def train_size(self, seed: int) -> int | None:
        size = self.setting.train_size
        available = len(self._base(seed).train)
        return None if size is None or size >= available else size

    def bundle(self, seed: int):
        """A fresh bundle for one run: its own notes, its seeded training subset."""
        from ..data.sampling import with_train_size

        base = self._base(seed)
        bundle = dataclasses.replace(base, notes=list(base.notes))
        return with_train_size(bundle, self.train_size(seed), seed)

    def sizes(self) -> tuple[int, int]:
        """(training examples per run, test examples) as the runs saw them."""
        return len(self.bundle(0).train), len(self._base(0).test)

    def shape(self) -> tuple[int, int, int]:
        return self._base(0).train.shape

    def classes(self) -> int:
        return len(self._base(0).train.classes)


def run_info(study: Study, setting_name: str, loader: DataCache) -> dict:
    """Parameters and multiply-adds of each run's model at the study's input size."""
    from torch import nn

    from ..analysis.flops import count_macs
    from ..models import count_parameters, create_model

    channels, height, width = loader.shape()
    info = {}
    for run in study.runs_for(setting_name):
        model = create_model(run.model, num_classes=loader.classes(), in_channels=channels,
                             input_size=(height, width), **run.kwargs_for(setting_name))
        layers = sum(isinstance(m, (nn.Conv2d, nn.Linear)) for m in model.modules())
        info[run.name] = {"params": count_parameters(model), "macs": count_macs(model, (1, channels, height, width)),
                          "layers": layers}
    return info
