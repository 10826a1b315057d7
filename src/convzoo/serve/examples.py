"""Example pictures for the input panel: the first test images of each class of the served
model's dataset (when its files are on this machine), as PNG data URLs. Loaded once per dataset."""

from __future__ import annotations

import functools

import numpy as np

from ..errors import ConvzooError
from ..infer.describe import NO_DATA
from .payload import png_data_url

MAX_EXAMPLES = 10  # one per class, at most this many


@functools.lru_cache(maxsize=8)
def _examples(dataset: str) -> tuple[tuple[str, str], ...]:
    from ..data import load_dataset

    return _picked(load_dataset(dataset).test)


def _picked(test) -> tuple[tuple[str, str], ...]:
    labels = test.labels.numpy()
    if labels.ndim != 1:  # a segmentation dataset: its labels are masks
        return ()
    picked = []
    for k in range(len(test.classes)):
        hits = np.flatnonzero(labels == k)
        if hits.size:
            picked.append((test.classes[k], png_data_url(_picture(test.images[hits[0]].numpy()))))
        if len(picked) == MAX_EXAMPLES:
            break
    return tuple(picked)


def _picture(image: np.ndarray) -> np.ndarray:
    return image[0] if image.shape[0] == 1 else image


def examples_json(served) -> dict:
    dataset = served.predictor.data["name"]
    live = served.entry.live
    if dataset == NO_DATA and (live is None or live.examples is None):
        return {"model": served.entry.key, "examples": [],
                "note": "no examples: explored without data (explore(model, data=...) adds them)"}
    try:
        found = _picked(live.examples) if live is not None and live.examples is not None else _examples(dataset)
    except ConvzooError as exc:
        return {"model": served.entry.key, "examples": [], "note": f"no examples: {exc}"}
    return {"model": served.entry.key, "dataset": dataset,
            "examples": [{"label": label, "png": png} for label, png in found]}
