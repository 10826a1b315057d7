"""What a dataset is, as data: its classes, shape, normalisation, files with their SHA-256, where
they come from and what to do when they are missing or damaged."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import DataError

PACKAGE_FILES = Path(__file__).resolve().parent / "files"  # data that ships inside convzoo


@dataclass(frozen=True)
class RemoteFile:
    name: str
    sha256: str
    payload: bool = True  # the checksum is of the gunzipped payload, not of the archive
    optional: bool = False  # e.g. MNIST's test split, absent from the 10k subset


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    description: str
    classes: tuple[str, ...]
    shape: tuple[int, int, int]  # (C, H, W)
    mean: tuple[float, ...]
    std: tuple[float, ...]
    files: tuple[RemoteFile, ...] = ()
    mirrors: tuple[str, ...] = ()
    system_dirs: tuple[str, ...] = ()
    how_to_get: str = ""
    offline: str = ""  # what to do when the download fails (no network): never the download again
    flippable: bool = True  # horizontal flips keep the label (not so for digits)
    origin: str = "download"  # "download", "package" (ships with convzoo) or "generated"
    source: str | None = None  # what a generated dataset is made from
    task: str = "classification"  # or "segmentation": labels are (H, W) masks of class indices
    extra: dict = field(default_factory=dict)

    @property
    def checked_on_load(self) -> bool:
        """Whether loading verifies every file's payload SHA-256 (files with exactly one truth)."""
        return self.origin in ("package", "generated")

    @property
    def offline_remedy(self) -> str:
        """Ways to get the files that do not download them (what to say when a download failed)."""
        names = ", ".join(f.name for f in self.files if not f.optional)
        copy = f"copy {names} into {cache_root() / self.name} (e.g. from a machine with internet), or pass --data-dir DIR"
        return f"{self.offline}; or {copy}" if self.offline else copy

    @property
    def remedy(self) -> str:
        """What to do about a damaged file of this dataset."""
        if self.origin == "generated":
            return f"run `convzoo data get {self.name}` to make it again"
        if self.origin == "package":
            return "it ships with convzoo: reinstall the package"
        return f"delete it and get it again ({self.how_to_get})"


_IDX_NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
              "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def idx_files(*hashes: str) -> tuple[RemoteFile, ...]:
    return tuple(RemoteFile(f"{n}.gz", h, optional=n.startswith("t10k"))
                 for n, h in zip(_IDX_NAMES, hashes))


# Segmentation scenes: images and masks, both (N, 64, 64) uint8 IDX files, all four required.
SCENE_FILES = ("train-images-idx3-ubyte", "train-masks-idx3-ubyte",
               "t10k-images-idx3-ubyte", "t10k-masks-idx3-ubyte")


def scene_files(*hashes: str) -> tuple[RemoteFile, ...]:
    return tuple(RemoteFile(f"{n}.gz", h) for n, h in zip(SCENE_FILES, hashes))


def all_required(*hashes: str) -> tuple[RemoteFile, ...]:
    return tuple(RemoteFile(f"{n}.gz", h) for n, h in zip(_IDX_NAMES, hashes))


def cache_root() -> Path:
    """Where downloads go: $CONVZOO_DATA if set, else ~/.cache/convzoo."""
    env = os.environ.get("CONVZOO_DATA")
    return Path(env) if env else Path.home() / ".cache" / "convzoo"


def recorded_file(spec: DatasetSpec, path: Path) -> RemoteFile:
    """The catalog's entry for `path` (named with or without its .gz)."""
    for f in spec.files:
        if path.name in (f.name, f.name.removesuffix(".gz")):
            return f
    raise DataError(f"{path}: not a file of {spec.name}")
