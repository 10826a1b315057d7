"""Whole datasets as in-memory uint8 tensors.

Every loader returns a `DataBundle` of `ArrayDataset`s: images (N, C, H, W) uint8 and labels, plus
what training needs to know (classes, mean/std for normalisation, whether a horizontal flip keeps
the label). Labels are (N,) int64 class indices for classification, or (N, H, W) uint8 masks of
class indices for segmentation (the scenes; uint8 keeps 10,000 64x64 masks at 41 MB, and the batch
loader converts per batch). Normalisation happens per batch on the training device.
"""

from __future__ import annotations

import hashlib
import pickle
import tarfile
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from ..errors import DataError
from .catalog import check_payload, dataset_spec, locate
from .download import sha256_file
from .idx import IMAGES_MAGIC, LABELS_MAGIC, parse_idx, read_idx_bytes


@dataclass
class ArrayDataset:
    images: torch.Tensor  # (N, C, H, W) uint8
    labels: torch.Tensor  # (N,) int64 class indices, or (N, H, W) uint8 masks (segmentation)
    classes: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    flippable: bool = True

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.images.shape[1:])

    @property
    def task(self) -> str:
        """"segmentation" when every pixel has a label (labels (N, H, W)), else "classification"."""
        return "segmentation" if self.labels.ndim == 3 else "classification"

    def subset(self, index: torch.Tensor) -> ArrayDataset:
        return replace(self, images=self.images[index], labels=self.labels[index])


@dataclass
class DataBundle:
    name: str
    train: ArrayDataset
    test: ArrayDataset
    val: ArrayDataset | None = None
    notes: list[str] = field(default_factory=list)  # e.g. where the test split came from

    def describe(self) -> dict:
        d = self.train
        return {"name": self.name, "classes": list(d.classes), "mean": list(d.mean), "std": list(d.std),
                "shape": list(d.shape), "task": d.task, "flippable": d.flippable, "train": len(self.train),
                "test": len(self.test), "val": len(self.val) if self.val else 0, "notes": self.notes}


def load_dataset(name: str, data_dir: str | Path | None = None, *, val_split: float = 0.0,
                 test_holdout: float | None = None, seed: int = 0, allow_download: bool = False,
                 image_size: int | None = None, progress: bool = False) -> DataBundle:
    """Load dataset `name` into memory.

    `val_split` carves a validation set (fraction of train) off the training set. When a dataset
    has no test split (e.g. the 10k MNIST subset), or `test_holdout` is given, that many (or that
    fraction of) training examples, chosen by `seed`, become the test set; the bundle's notes
    say so.
    """
    spec = dataset_spec(name)
    if test_holdout is not None and not test_holdout > 0:  # 0 would silently mean "the default 10%"
        raise DataError(f"--test-holdout must be above 0 (a fraction below 1, or a count), not {test_holdout}")
    files = locate(name, data_dir, allow_download=allow_download, progress=progress)
    if name == "cifar10":
        train, test = _load_cifar10(files["cifar-10-python.tar.gz"], spec)
    elif name == "imagefolder":
        train, test = _load_imagefolder(Path(data_dir), image_size)
    else:
        train, test = _load_idx(files, spec)
    notes = []
    if test is None or test_holdout:
        holdout = test_holdout or 0.1
        count = int(holdout) if holdout >= 1 else round(holdout * len(train))
        if not 0 < count < len(train):
            raise DataError(f"test holdout of {holdout} leaves no training data ({len(train)} examples)")
        train, test = _split(train, count, seed)
        why = f"{name} has no test split" if test_holdout is None else "as asked"
        notes.append(f"test set = {count:,} training examples held out (seed {seed}), {why}")
    val = None
    if val_split:
        if not 0 < val_split < 1:
            raise DataError(f"--val-split must be a fraction between 0 and 1, got {val_split}")
        train, val = _split(train, round(val_split * len(train)), seed + 1)
        notes.append(f"validation set = {len(val):,} training examples (seed {seed + 1})")
    return DataBundle(name, train, test, val, notes)


def _split(data: ArrayDataset, count: int, seed: int) -> tuple[ArrayDataset, ArrayDataset]:
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))
    return data.subset(order[count:].sort().values), data.subset(order[:count].sort().values)


def _as_dataset(images: np.ndarray, labels: np.ndarray, spec, mean=None, std=None, classes=None):
    # Masks stay uint8 (a quarter of a 64x64 int64 mask set's memory); class indices become int64.
    labels = np.array(labels, copy=True) if labels.ndim == 3 else labels.astype(np.int64)
    return ArrayDataset(torch.from_numpy(np.array(images, copy=True, order="C")),
                        torch.from_numpy(labels), tuple(classes or spec.classes),
                        tuple(mean or spec.mean), tuple(std or spec.std), spec.flippable)


def _check_labels(labels: np.ndarray, n_classes: int, source: str) -> None:
    """Class indices, or every pixel of every mask, must name one of the `n_classes` classes."""
    if labels.size and labels.max() >= n_classes:
        raise DataError(f"{source}: label {labels.max()} out of range for {n_classes} classes")


def read_checked_idx(path: Path, spec, magic: int) -> np.ndarray:
    """An IDX file of `spec`, its payload SHA-256 checked first where the catalog has one truth."""
    path = Path(path)
    try:
        data = read_idx_bytes(path)
    except DataError as exc:
        if not spec.checked_on_load:
            raise
        raise DataError(f"{exc}; {spec.remedy}") from None
    if spec.checked_on_load:
        check_payload(spec, path, hashlib.sha256(data).hexdigest())
    return parse_idx(data, str(path), magic)


def _load_idx(files: dict[str, Path], spec):
    segmentation = spec.task == "segmentation"
    kind, magic = ("masks-idx3", IMAGES_MAGIC) if segmentation else ("labels-idx1", LABELS_MAGIC)

    def pair(prefix):
        images_path = files.get(f"{prefix}-images-idx3-ubyte.gz")
        labels_path = files.get(f"{prefix}-{kind}-ubyte.gz")
        if images_path is None or labels_path is None:
            return None
        images = read_checked_idx(images_path, spec, IMAGES_MAGIC)  # the magic number fixes the rank
        labels = read_checked_idx(labels_path, spec, magic)
        if labels.shape != (images.shape if segmentation else images.shape[:1]):
            what = "masks of " + "x".join(map(str, labels.shape[1:])) if segmentation else "labels"
            raise DataError(f"{labels_path}: {len(labels):,} {what} for {len(images):,} images of "
                            f"{images.shape[1]}x{images.shape[2]} in {images_path.name}")
        _check_labels(labels, len(spec.classes), str(labels_path))
        if images.shape[1:] != spec.shape[1:]:
            raise DataError(f"{images_path}: images are {images.shape[1]}x{images.shape[2]}, "
                            f"{spec.name} is {spec.shape[1]}x{spec.shape[2]}")
        return _as_dataset(images[:, None], labels, spec)

    return pair("train"), pair("t10k")


class _ArrayUnpickler(pickle.Unpickler):
    """CIFAR batches are pickled dicts of NumPy arrays; refuse to build anything else."""

    _ALLOWED = frozenset({("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                          ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")})

    def find_class(self, module, name):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing to unpickle {module}.{name}")
        return super().find_class(module, name)


def _load_cifar10(archive: Path, spec):
    expected = spec.files[0].sha256
    if sha256_file(archive) != expected:  # verify before anything is unpickled
        raise DataError(f"{archive}: checksum mismatch; delete it and run `convzoo data get cifar10`")
    with tempfile.TemporaryDirectory(prefix="convzoo-cifar-") as tmp:
        try:
            with tarfile.open(archive, "r:gz") as tar:
                tar.extractall(tmp, filter="data")
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise DataError(f"{archive}: cannot extract ({exc})") from None
        folder = Path(tmp) / "cifar-10-batches-py"

        def batches(names):
            images, labels = [], []
            for n in names:
                try:
                    with open(folder / n, "rb") as f:
                        batch = _ArrayUnpickler(f, encoding="bytes").load()
                    images.append(np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
                    labels.append(np.asarray(batch[b"labels"], dtype=np.int64))
                except (OSError, KeyError, ValueError, pickle.UnpicklingError) as exc:
                    raise DataError(f"{archive}: bad batch {n} ({exc})") from None
            return _as_dataset(np.concatenate(images), np.concatenate(labels), spec)

        return batches([f"data_batch_{i}" for i in range(1, 6)]), batches(["test_batch"])


IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}


def _load_imagefolder(root: Path, image_size: int | None):
    """(train, test or None) from ROOT/<class>/*.png, or ROOT/train/<class>/ with ROOT/test/ (or val/)."""
    splits = {s: root / s for s in ("train", "test", "val") if (root / s).is_dir()}
    train_dir = splits.get("train", root)
    test_dir = splits.get("test", splits.get("val")) if "train" in splits else None
    classes = sorted(p.name for p in train_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise DataError(f"{train_dir}: no class folders (expected {train_dir}/<class>/<image>.png)")
    train_files = _class_files(train_dir, classes)
    if not train_files:
        raise DataError(f"{train_dir}: no PNG or JPEG images in the class folders")
    _check_image_classes(train_dir, classes, train_files)
    if test_dir is not None:
        _check_test_classes(test_dir, train_dir, classes)
    size = (image_size, image_size) if image_size else _open_image(train_files[0][0]).size
    grey = all(_open_image(p).mode in ("L", "1", "I;16") for p, _ in train_files[:64])
    images, labels = _read_images(train_files, size, grey)
    pixels = images.reshape(len(images), images.shape[1], -1)
    mean = tuple((pixels.mean((0, 2)) / 255).tolist())
    std = tuple((pixels.std((0, 2)) / 255 + 1e-3).tolist())
    spec = replace(dataset_spec("imagefolder"), flippable=True)
    train = _as_dataset(images, labels, spec, mean, std, classes)
    test_files = _class_files(test_dir, classes) if test_dir is not None else []
    test = _as_dataset(*_read_images(test_files, size, grey), spec, mean, std, classes) if test_files else None
    return train, test


def _class_files(folder: Path, classes: list[str]) -> list[tuple[Path, int]]:
    """(image, class index) for the PNG and JPEG files under each class folder, hidden ones left out."""
    out = []
    for label, cls in enumerate(classes):
        d = folder / cls
        if d.is_dir():
            out += [(p, label) for p in sorted(d.rglob("*"))
                    if p.suffix.lower() in IMAGE_SUFFIXES and not any(
                        part.startswith(".") for part in p.relative_to(folder).parts)]
    return out


def _check_test_classes(test_dir: Path, train_dir: Path, classes: list[str]) -> None:
    unknown = sorted(p.name for p in test_dir.iterdir() if p.is_dir() and not p.name.startswith(".")
                     and p.name not in classes)
    if unknown:
        raise DataError(f"{test_dir}: class folder(s) {', '.join(unknown)} are not in {train_dir} "
                        f"(the classes are {', '.join(classes)})")


def _read_images(files: list[tuple[Path, int]], size: tuple[int, int], grey: bool) -> tuple[np.ndarray, np.ndarray]:
    """(N, 1 or 3, H, W) uint8 at `size` (width, height) and the (N,) labels."""
    from PIL import Image

    images = np.empty((len(files), 1 if grey else 3, size[1], size[0]), np.uint8)
    for i, (path, _) in enumerate(files):
        img = _open_image(path).convert("L" if grey else "RGB")
        if img.size != size:
            img = img.resize(size, Image.Resampling.BILINEAR)
        arr = np.asarray(img)
        images[i] = arr[None] if grey else arr.transpose(2, 0, 1)
    return images, np.array([label for _, label in files], np.int64)


def _check_image_classes(folder: Path, classes: list[str], files: list[tuple[Path, int]]) -> None:
    """A classifier needs two classes or more, each with examples: with one class, or an empty class
    folder, every answer would be right by construction (a test accuracy of 1.0 that means nothing)."""
    if len(classes) < 2:
        raise DataError(f"{folder}: one class folder ({classes[0]}); a classifier needs at least two, "
                        f"one folder per class")
    counts = np.bincount([label for _, label in files], minlength=len(classes))
    empty = [c for c, n in zip(classes, counts) if n == 0]
    if empty:
        raise DataError(f"{folder}: class folder(s) {', '.join(empty)} hold no PNG or JPEG images; "
                        "every class needs examples (remove the folder or add images)")


def _open_image(path: Path):
    from PIL import Image, UnidentifiedImageError

    from .depth import eight_bit

    try:
        img = Image.open(path)
        img.load()
        return eight_bit(img)  # depth.py: a 16-bit grey PNG scaled, not clipped by convert("L")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise DataError(f"{path}: not a readable image ({type(exc).__name__})") from None


def content_hash(data: ArrayDataset) -> str:
    """A short fingerprint of a dataset's bytes (recorded in run configs)."""
    h = hashlib.sha256(data.images.numpy().tobytes())
    h.update(data.labels.numpy().tobytes())
    return h.hexdigest()[:16]


