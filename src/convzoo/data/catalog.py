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
from collections.abc import Callable
from pathlib import Path

from ..errors import DataError, unknown_name
from .download import download, sha256_file
from .spec import PACKAGE_FILES, DatasetSpec, RemoteFile, cache_root, recorded_file  # noqa: F401  (re-exported)
from .table import DATASETS


def dataset_spec(name: str) -> DatasetSpec:
    try:
        return DATASETS[name]
    except KeyError:
        raise unknown_name("dataset", name, list(DATASETS)) from None


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


# The generated datasets' makers (data/scenes.py, data/speech.py) register here when imported
# (the package's __init__ imports them): they build on this module, so it cannot import them.
GENERATORS: dict[str, Callable[[str, Path], dict[str, Path]]] = {}


def register_generator(name: str, generate: Callable[[str, Path], dict[str, Path]]) -> None:
    GENERATORS[name] = generate


def _generate(name: str, folder: Path) -> dict[str, Path]:
    """Make a generated dataset's files in `folder`."""
    return GENERATORS[name](name, folder)


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
