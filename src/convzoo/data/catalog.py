"""Where each dataset's files are found, and where they come from.

Search order (DESIGN.md): an explicit data dir; `$CONVZOO_DATA`; the user cache
(`~/.cache/convzoo`); system copies (Debian's `dataset-fashion-mnist`, and the files that ship
inside this package); then a download from the canonical mirrors, verified by SHA-256, into
`$CONVZOO_DATA` if set, else the user cache. A dataset's files may sit in `<dir>/<dataset>/` or
directly in `<dir>/`.

Where a dataset comes from is its `origin`: "download" (canonical mirrors), "package" (ships in
`files/` beside this module: `mnist-sample`), or "generated" (made by `convzoo data get`: from
another dataset, the segmentation scenes of scenes.py; by Debian's espeak-ng speech synthesiser,
the spoken digits of speech.py). Package and generated files are checked
against their recorded payload SHA-256 every time they are loaded.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import DataError, unknown_name
from .download import download, sha256_file

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


def _idx_files(*hashes: str) -> tuple[RemoteFile, ...]:
    return tuple(RemoteFile(f"{n}.gz", h, optional=n.startswith("t10k"))
                 for n, h in zip(_IDX_NAMES, hashes))


# Segmentation scenes: images and masks, both (N, 64, 64) uint8 IDX files, all four required.
SCENE_FILES = ("train-images-idx3-ubyte", "train-masks-idx3-ubyte",
               "t10k-images-idx3-ubyte", "t10k-masks-idx3-ubyte")


def _scene_files(*hashes: str) -> tuple[RemoteFile, ...]:
    return tuple(RemoteFile(f"{n}.gz", h) for n, h in zip(SCENE_FILES, hashes))


def _all_required(*hashes: str) -> tuple[RemoteFile, ...]:
    return tuple(RemoteFile(f"{n}.gz", h) for n, h in zip(_IDX_NAMES, hashes))


_DIGITS = tuple(str(d) for d in range(10))
_FASHION = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
            "Ankle boot")
_GET_FASHION = "`apt-get install dataset-fashion-mnist`, or `convzoo data get fashion-mnist`"


DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec for spec in [
        DatasetSpec(
            "fashion-mnist", "Zalando's Fashion-MNIST: 60,000 + 10,000 28x28 grey clothing images",
            classes=_FASHION, shape=(1, 28, 28), mean=(0.2860,), std=(0.3530,),
            files=_idx_files(
                "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
                "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
                "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
                "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"),
            mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
            system_dirs=("/usr/share/datasets/fashion-mnist",),
            how_to_get=_GET_FASHION, offline="`apt-get install dataset-fashion-mnist` (Debian, Ubuntu)",
        ),
        DatasetSpec(
            "mnist", "LeCun et al.'s MNIST digits: 60,000 + 10,000 28x28 grey images",
            classes=_DIGITS, shape=(1, 28, 28), mean=(0.1307,), std=(0.3081,), flippable=False,
            files=_idx_files(
                "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
                "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
                "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
                "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
            mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/",
                     "https://storage.googleapis.com/cvdf-datasets/mnist/"),
            how_to_get="`convzoo data get mnist` (needs internet), or --data-dir pointing at IDX files; "
                       "10,000 real digits ship with convzoo as `mnist-sample`",
            offline="`--data mnist-sample` trains on the 10,000 real MNIST digits that ship with convzoo",
        ),
        DatasetSpec(
            "mnist-sample", "10,000 real MNIST digits that ship with convzoo (no test split: "
                            "1,000 are held out, seeded)",
            classes=_DIGITS, shape=(1, 28, 28), mean=(0.1307,), std=(0.3081,), flippable=False,
            files=(RemoteFile("train-images-idx3-ubyte.gz",
                              "9cec9a838743261824eeed1965ae7c6049e7d42ac072d5ed70df898b7b2ddf84"),
                   RemoteFile("train-labels-idx1-ubyte.gz",
                              "5df116f85ee6caf392bf8d41cf6143959f8b68631711b0bb658ae79ecd8075d8")),
            system_dirs=(str(PACKAGE_FILES / "mnist-sample"),), origin="package",
            how_to_get="nothing to get: it ships inside the convzoo package (data/files/mnist-sample); "
                       "reinstall convzoo if it is missing",
        ),
        DatasetSpec(
            "digit-scenes", "segmentation: 64x64 canvases of 1-4 real MNIST digits (from mnist-sample) "
                            "with a class mask, 10,000 + 2,000, generated",
            classes=("background", *_DIGITS), shape=(1, 64, 64), mean=(0.0621,), std=(0.2225,),
            flippable=False,
            files=_scene_files(
                "c81d5c5478dc550f82bea8261bc9e82af97a33d2df1c1ebb44eafb81aa126155",
                "96f67e6b2b85627227a46b323537efb5186bf75fc3b49829fbbbacaff2b4498a",
                "9454b14712310c931b75e4ed3ddbdfdecd4abf92ab16445ae678c21f5fe6fc59",
                "641598f19b51ad9e30e5b7c7f1e3a56942ac088b46aa0a262bd15c7be40764e6"),
            origin="generated", source="mnist-sample", task="segmentation",
            how_to_get="`convzoo data get digit-scenes` (made in seconds from the digits that ship with convzoo)",
        ),
        DatasetSpec(
            "fashion-scenes", "segmentation: 64x64 canvases of 1-4 Fashion-MNIST items with a class mask, "
                              "10,000 + 2,000, generated",
            classes=("background", *_FASHION), shape=(1, 64, 64), mean=(0.1169,), std=(0.2663,),
            files=_scene_files(
                "6e5dfae129040c1e2c6955940622831bfc3ab38626e71c9901d96d4258474bb0",
                "191a91582d21c98355c9946672846fa86fbafcb8db6acb25eb73461e7d201133",
                "3d02bff7d2e8737cd0f5760cac7c0ba51e905c235c05ad9cc69f08cadc47a2ce",
                "e08dbb3a74c24ba0b1c94d806338ffa817bccd58940d4b0ae541cdb743a2a18d"),
            origin="generated", source="fashion-mnist", task="segmentation",
            how_to_get="`convzoo data get fashion-scenes` (made in seconds from Fashion-MNIST, which it "
                       f"needs: {_GET_FASHION})",
        ),
        DatasetSpec(
            "spoken-digits", "speech: the digits 0-9 spoken by espeak-ng (SYNTHETIC speech, not recordings) in "
                             "320 voices, as 40x101 log-mel spectrograms of 1 s; 4,800 + 800, the test voices "
                             "held out; generated",
            classes=_DIGITS, shape=(1, 40, 101), mean=(0.5306,), std=(0.1583,), flippable=False,
            files=_all_required(
                "5856f4bd3b1b171c2ecb6817a7e3925206595817c2b7fb50e8c6c13c352ca992",
                "1098e2d0f424cd3a2490c6873033b22a6181e884e9326d809c658d1fba8415bf",
                "adbf96168181ae65e1d832ceff21cff0a556b7f9e48e3cb7d2a201cdd0e61fae",
                "389ce64efdd5baedd4ecc93ccae9894845adc2baddf381eb569218fcca69b960"),
            origin="generated",
            how_to_get="`convzoo data get spoken-digits` (about a minute and a half on 2 cores; needs Debian's "
                       "espeak-ng: `apt-get install espeak-ng`, or `sh scripts/ensure-speech.sh`)",
            extra={"modality": "audio", "espeak-ng": "1.51"},
        ),
        DatasetSpec(
            "cifar10", "Krizhevsky's CIFAR-10: 50,000 + 10,000 32x32 colour images",
            classes=("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
                     "truck"),
            shape=(3, 32, 32), mean=(0.4914, 0.4822, 0.4465), std=(0.2470, 0.2435, 0.2616),
            files=(RemoteFile("cifar-10-python.tar.gz",
                              "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
                              payload=False),),
            mirrors=("https://www.cs.toronto.edu/~kriz/",),
            how_to_get="`convzoo data get cifar10` (needs internet)",
        ),
        DatasetSpec(
            "imagefolder", "your own images: one folder per class (PNG/JPEG), given by --data-dir",
            classes=(), shape=(3, 0, 0), mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25),
            how_to_get="pass --data-dir ROOT with ROOT/<class>/*.png (or ROOT/train and ROOT/test)",
        ),
    ]
}


def dataset_spec(name: str) -> DatasetSpec:
    try:
        return DATASETS[name]
    except KeyError:
        raise unknown_name("dataset", name, list(DATASETS)) from None


def cache_root() -> Path:
    """Where downloads go: $CONVZOO_DATA if set, else ~/.cache/convzoo."""
    env = os.environ.get("CONVZOO_DATA")
    return Path(env) if env else Path.home() / ".cache" / "convzoo"


def search_dirs(spec: DatasetSpec, data_dir: str | Path | None = None) -> list[Path]:
    """Candidate folders for `spec`'s files, in the documented order."""
    if data_dir is not None:
        # Explicit means explicit: no silent fallback elsewhere. The files may sit directly in it.
        return [Path(data_dir) / spec.name, Path(data_dir)]
    # Shared roots hold several datasets (MNIST and Fashion-MNIST share file names): subfolders only.
    roots = [Path(p) for p in (os.environ.get("CONVZOO_DATA"),) if p]
    roots += [Path.home() / ".cache" / "convzoo"]
    return [root / spec.name for root in roots] + [Path(p) for p in spec.system_dirs]


def _present(folder: Path, f: RemoteFile) -> Path | None:
    for candidate in (folder / f.name, folder / f.name.removesuffix(".gz")):
        if candidate.is_file():
            return candidate
    return None


def find_files(spec: DatasetSpec, data_dir: str | Path | None = None) -> dict[str, Path] | None:
    """The first folder holding every required file, as {file name: path}, or None."""
    required = [f for f in spec.files if not f.optional]
    for folder in search_dirs(spec, data_dir):
        found = {f.name: p for f in spec.files if (p := _present(folder, f))}
        if all(f.name in found for f in required):
            return found
    return None


def locate(name: str, data_dir: str | Path | None = None, *, allow_download: bool = False,
           progress: bool = False) -> dict[str, Path]:
    """Paths of a dataset's files, downloading (or generating) them if allowed and not found."""
    spec = dataset_spec(name)
    if not spec.files:
        if data_dir is None:
            raise DataError(f"{name} needs --data-dir: {spec.how_to_get}")
        if not Path(data_dir).is_dir():
            raise DataError(f"{data_dir}: no such directory")
        return {}
    found = find_files(spec, data_dir)
    if found:
        return found
    if spec.origin == "package":
        raise DataError(f"dataset {name}: its files are missing from {spec.system_dirs[0]}; {spec.remedy}")
    if spec.origin == "generated" and allow_download:
        return _generate(name, Path(data_dir or cache_root()) / spec.name)
    if data_dir is not None:
        missing = ", ".join(f.name for f in spec.files if not f.optional)
        raise DataError(f"{name}: {data_dir} does not hold {missing}; get it with {spec.how_to_get}")
    if not allow_download:
        raise DataError(f"dataset {name} not found; get it with {spec.how_to_get}")
    return fetch(spec, cache_root() / spec.name, progress=progress)


def obtain(name: str, data_dir: str | Path | None = None, *, progress: bool = False) -> dict[str, Path]:
    """What `convzoo data get` does: find, download or generate a dataset's files, and check them.

    Files with a single truth (shipped or generated) are verified by payload SHA-256; generated
    files that are missing or fail the check are made again, in the folder where they were found.
    """
    spec = dataset_spec(name)
    if spec.origin == "generated":
        found = find_files(spec, data_dir)
        if found:
            try:
                verify_files(spec, found)
                return found
            except DataError:
                return _generate(name, next(iter(found.values())).parent)
    files = locate(name, data_dir, allow_download=True, progress=progress)
    if spec.checked_on_load:
        verify_files(spec, files)
    return files


def _generate(name: str, folder: Path) -> dict[str, Path]:
    """Make a generated dataset's files in `folder` (imported here: the generators build on this module)."""
    if dataset_spec(name).extra.get("modality") == "audio":
        from .speech import generate
    else:
        from .scenes import generate
    return generate(name, folder)


def recorded_file(spec: DatasetSpec, path: Path) -> RemoteFile:
    """The catalog's entry for `path` (named with or without its .gz)."""
    for f in spec.files:
        if path.name in (f.name, f.name.removesuffix(".gz")):
            return f
    raise DataError(f"{path}: not a file of {spec.name}")


def check_payload(spec: DatasetSpec, path: Path, actual_sha256: str) -> None:
    """Refuse `path` unless its decompressed contents hash to the recorded SHA-256."""
    expected = recorded_file(spec, path).sha256
    if actual_sha256 != expected:
        raise DataError(f"{path}: contents differ from {spec.name}'s recorded SHA-256 ({actual_sha256[:12]}…, "
                        f"expected {expected[:12]}…): changed or damaged; {spec.remedy}")


def verify_files(spec: DatasetSpec, files: dict[str, Path]) -> None:
    """Check every file of `files` against the catalog's payload SHA-256 (a DataError if not)."""
    for path in files.values():
        try:
            actual = sha256_file(path, decompress=path.suffix == ".gz")
        except DataError as exc:
            raise DataError(f"{exc}; {spec.remedy}") from None
        check_payload(spec, path, actual)


def fetch(spec: DatasetSpec, folder: Path, mirrors: tuple[str, ...] | None = None,
          progress: bool = False) -> dict[str, Path]:
    """Download every file of `spec` into `folder`, trying each mirror in turn."""
    paths = {}
    for f in spec.files:
        dest = folder / f.name
        if dest.is_file():
            paths[f.name] = dest
            continue
        errors = []
        for mirror in mirrors or spec.mirrors:
            try:
                paths[f.name] = download(mirror + f.name, dest, f.sha256, payload=f.payload,
                                         progress=progress)
                break
            except DataError as exc:
                errors.append(str(exc))
        else:
            raise DataError(f"could not download {spec.name} ({_summary(errors)}); without a network: "
                            f"{spec.offline_remedy}")
    return paths


def _summary(errors: list[str]) -> str:
    """The mirrors' errors, the first in full and a count of the others (one line stays readable)."""
    return errors[0] + (f"; {len(errors) - 1} other mirror(s) failed too" if len(errors) > 1 else "")
