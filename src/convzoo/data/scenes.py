"""Segmentation scenes: 64x64 grey canvases of 1-4 real items, with a class for every pixel.

`digit-scenes` places MNIST digits from `mnist-sample`, `fashion-scenes` Fashion-MNIST items. Each
item is cut to the tight box of its ink pixels (value >= INK, i.e. 64/255) and put at a random
place where that box keeps at least GAP background pixels from every box already on the canvas;
a place is drawn at most TRIES times, then the item is left out (so a canvas holds fewer items,
never less than one). Items are composed by max onto a black canvas, and the mask says, for
every pixel, 0 = background or k + 1 where an item of source class k has ink. Pixels of an item
below INK stay in the picture (as the faint rim of a stroke) but count as background: as the boxes
are disjoint, the mask is nonzero exactly where the canvas is >= INK.

Everything is drawn from one seed in bulk before any placement, so the same seed gives the same
arrays, byte for byte, and the written files hash to the SHA-256 the catalog records. Train and
test canvases use disjoint source images: digit-scenes splits the 10,000 digits 8,000 / 2,000 by a
seeded permutation, fashion-scenes uses Fashion-MNIST's own train and test files.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError
from .catalog import dataset_spec, locate, register_generator
from .generated import write_checked_files
from .idx import IMAGES_MAGIC, LABELS_MAGIC, parse_idx, read_idx_bytes
from .spec import SCENE_FILES, recorded_file

SIZE = 64  # canvas side, pixels
INK = 64  # a pixel >= 64/255 is ink: labelled in the mask, and what an item's box is cut to
MAX_ITEMS = 4
TRIES = 20  # random places tried per item before it is left out
GAP = 1  # background pixels kept between any two items' boxes
SEED = 0  # the seed of the files the catalog records
COUNTS = {"train": 10_000, "test": 2_000}  # canvases per split
DIGIT_TEST_SOURCES = 2_000  # of mnist-sample's 10,000 digits, kept for the test canvases


@dataclass
class Scenes:
    images: np.ndarray  # (N, SIZE, SIZE) uint8
    masks: np.ndarray  # (N, SIZE, SIZE) uint8: 0 background, k + 1 for source class k
    sources: np.ndarray  # (N, MAX_ITEMS) int64: index of each placed item in the source, -1 = none
    boxes: np.ndarray  # (N, MAX_ITEMS, 4) int64: (top, left, bottom, right), half-open, -1 = none

    def __len__(self) -> int:
        return len(self.images)


def ink_boxes(images: np.ndarray) -> np.ndarray:
    """(M, 4) tight boxes (top, left, bottom, right; half-open) of each image's ink; -1 if none."""
    ink = images >= INK
    rows, cols = ink.any(2), ink.any(1)  # (M, H), (M, W)
    h, w = images.shape[1:]
    top, left = rows.argmax(1), cols.argmax(1)
    bottom, right = h - rows[:, ::-1].argmax(1), w - cols[:, ::-1].argmax(1)
    boxes = np.stack([top, left, bottom, right], 1).astype(np.int64)
    boxes[~rows.any(1)] = -1
    return boxes


def compose_scenes(images: np.ndarray, labels: np.ndarray, pool: np.ndarray, count: int, seed,
                   size: int = SIZE, max_items: int = MAX_ITEMS, tries: int = TRIES) -> Scenes:
    """`count` canvases of 1..`max_items` items drawn (with replacement) from `images[pool]`.

    `seed` is anything np.random.default_rng takes. Items without ink are never drawn.
    """
    boxes = ink_boxes(images)
    pool = _drawable(boxes, pool, size)
    # Every random number first, in fixed shapes: the result cannot depend on which tries succeed.
    rng = np.random.default_rng(seed)
    wanted = rng.integers(1, max_items + 1, count).tolist()
    picks = pool[rng.integers(0, len(pool), (count, max_items))].tolist()
    u = rng.random((count, max_items, tries, 2))
    box_list = boxes.tolist()
    placements = [p for i in range(count) for p in _place(i, picks[i][:wanted[i]], u[i], box_list, size)]
    return _paint(images, labels, boxes, placements, count, size, max_items)


def _drawable(boxes: np.ndarray, pool: np.ndarray, size: int) -> np.ndarray:
    """The pool's items that have ink, checked to fit the canvas."""
    pool = np.asarray(pool, np.int64)
    pool = pool[boxes[pool, 0] >= 0]
    if not len(pool):
        raise DataError("no source image has ink to place")
    if (boxes[pool, 2] - boxes[pool, 0]).max() > size or (boxes[pool, 3] - boxes[pool, 1]).max() > size:
        raise DataError(f"source items are larger than the {size}x{size} canvas")
    return pool


def _place(canvas: int, sources: list[int], u: np.ndarray, box_list: list, size: int) -> list[tuple]:
    """(canvas, slot, source, top, left) for each item that finds a place: the first of its tries
    (`u`: (items, tries, 2) uniform draws) whose box keeps GAP pixels from the boxes placed before.
    A little integer arithmetic per try, in Python; the copying is done after, in bulk."""
    placed = []  # boxes on this canvas, (top, left, bottom, right)
    placements = []
    for j, src in enumerate(sources):
        y0, x0, y1, x1 = box_list[src]
        h, w = y1 - y0, x1 - x0
        for uy, ux in u[j].tolist():
            top, left = int(uy * (size - h + 1)), int(ux * (size - w + 1))
            if all(top >= b + GAP or t >= top + h + GAP or left >= r + GAP or lft >= left + w + GAP
                   for t, lft, b, r in placed):
                break
        else:
            continue  # no free place in `tries` draws: one item fewer
        placements.append((canvas, len(placed), src, top, left))
        placed.append((top, left, top + h, left + w))
    assert placed, "the first item always fits an empty canvas"
    return placements


def _paint(images: np.ndarray, labels: np.ndarray, boxes: np.ndarray, placements: list[tuple], count: int,
           size: int, max_items: int) -> Scenes:
    """The canvases and masks with every placed item copied in, and which item went where."""
    # The boxes are disjoint, so composing by max onto the black canvas is copying each item in.
    label_maps = np.where(images >= INK, labels.astype(np.uint8)[:, None, None] + 1, 0).astype(np.uint8)
    canvas = np.zeros((count, size, size), np.uint8)
    masks = np.zeros((count, size, size), np.uint8)
    box_list = boxes.tolist()
    for i, _, src, top, left in placements:
        y0, x0, y1, x1 = box_list[src]
        canvas[i, top:top + y1 - y0, left:left + x1 - x0] = images[src, y0:y1, x0:x1]
        masks[i, top:top + y1 - y0, left:left + x1 - x0] = label_maps[src, y0:y1, x0:x1]
    sources = np.full((count, max_items), -1, np.int64)
    placed_boxes = np.full((count, max_items, 4), -1, np.int64)
    i, slot, src, top, left = np.array(placements, np.int64).reshape(-1, 5).T
    heights, widths = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    sources[i, slot] = src
    placed_boxes[i, slot] = np.stack([top, left, top + heights[src], left + widths[src]], 1)
    return Scenes(canvas, masks, sources, placed_boxes)


def make_scenes(name: str, seed: int = SEED, counts: dict[str, int] | None = None) -> dict[str, Scenes]:
    """The train and test scenes of `name` ("digit-scenes" or "fashion-scenes") from its verified
    source, as {"train": Scenes, "test": Scenes}."""
    spec = dataset_spec(name)
    counts = counts or COUNTS
    source = _source_arrays(spec)
    if name == "digit-scenes":
        images, labels = source["train"]
        order = np.random.default_rng([seed, 0]).permutation(len(images))
        test_pool, train_pool = np.sort(order[:DIGIT_TEST_SOURCES]), np.sort(order[DIGIT_TEST_SOURCES:])
        splits = {"train": (images, labels, train_pool), "test": (images, labels, test_pool)}
    else:
        if "test" not in source:
            raise DataError(f"{name} needs {spec.source}'s test files too (t10k-images-idx3-ubyte.gz, "
                            f"t10k-labels-idx1-ubyte.gz); get them with {dataset_spec(spec.source).how_to_get}")
        splits = {split: (*source[split], np.arange(len(source[split][0]))) for split in ("train", "test")}
    return {split: compose_scenes(*splits[split], counts[split], [seed, k + 1])
            for k, split in enumerate(("train", "test"))}


def _source_arrays(spec) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The source dataset's (images, labels) per split, every file checked by its payload SHA-256
    (the scenes' recorded hashes hold only for the canonical sources)."""
    source = dataset_spec(spec.source)
    try:
        files = locate(source.name)
    except DataError as exc:
        raise DataError(f"{spec.name} is made from {source.name}, which was not found; get it with "
                        f"{source.how_to_get}") from exc
    arrays = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        paths = [files.get(f"{prefix}-{kind}-ubyte.gz") for kind in ("images-idx3", "labels-idx1")]
        if None in paths:
            continue
        pair = []
        for path, magic in zip(paths, (IMAGES_MAGIC, LABELS_MAGIC)):
            data = read_idx_bytes(path)
            if hashlib.sha256(data).hexdigest() != recorded_file(source, path).sha256:
                raise DataError(f"{path}: not the canonical {source.name} file (payload SHA-256 differs), "
                                f"so {spec.name} cannot be made from it; get it with {source.how_to_get}")
            pair.append(parse_idx(data, str(path), magic))
        arrays[split] = tuple(pair)
    return arrays


def generate(name: str, folder: str | Path) -> dict[str, Path]:
    """Make `name`'s four IDX files in `folder` and check them against the catalog.

    Each file is written to a temporary name beside its destination, its payload SHA-256 is read
    back from disk and compared with the catalog's, and only when all four match are they renamed
    into place; on any failure the temporary files are removed and nothing is replaced.
    """
    spec = dataset_spec(name)
    folder = Path(folder)
    scenes = make_scenes(name)
    arrays = {"train-images-idx3-ubyte": scenes["train"].images, "train-masks-idx3-ubyte": scenes["train"].masks,
              "t10k-images-idx3-ubyte": scenes["test"].images, "t10k-masks-idx3-ubyte": scenes["test"].masks}
    assert tuple(arrays) == SCENE_FILES
    return write_checked_files(spec, folder, arrays, "the generator or its source changed")


def overlay(images: np.ndarray, masks: np.ndarray, alpha: float = 0.55) -> np.ndarray:
    """Grey canvases (N, H, W) or (N, 1, H, W) with each mask class as a colour: (N, 3, H, W) uint8.

    Background stays grey; class k + 1 (source class k) is blended with the k-th of ten hues
    spaced around the colour wheel (no grey among them), the same colour for the same class in
    every picture.
    """
    from matplotlib import colormaps

    masks = np.asarray(masks)
    grey = np.asarray(images, np.float32).reshape(masks.shape)[:, None] / 255  # (N, 1, H, W)
    hues = colormaps["hsv"](np.arange(10) / 10)[:, :3]
    palette = np.concatenate([np.zeros((1, 3)), hues]).astype(np.float32)
    colour = palette[masks].transpose(0, 3, 1, 2)  # (N, 3, H, W)
    tinted = np.where(masks[:, None] > 0, (1 - alpha) * grey + alpha * colour, grey)
    return (tinted * 255).round().astype(np.uint8)


for _name in ("digit-scenes", "fashion-scenes"):
    register_generator(_name, generate)  # `convzoo data get`, `train --download` (data/catalog.py)
