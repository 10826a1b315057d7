"""Writing a generated dataset's files (the segmentation scenes, the spoken digits): each array as
a gzipped IDX file under a temporary name, its payload SHA-256 read back from disk and compared
with the catalog's, and only when every file matches are they renamed into place. On any failure
the temporary files are removed and nothing is replaced."""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

import numpy as np

from ..atomic import cannot_write, new_temporary
from ..errors import DataError
from .download import sha256_file
from .idx import write_idx
from .spec import DatasetSpec, recorded_file


def write_checked_files(spec: DatasetSpec, folder: Path, arrays: dict[str, np.ndarray], why_different: str) -> dict[str, Path]:
    """{IDX stem: array} -> the files in `folder`, each checked against the catalog; a mismatch is a
    DataError that ends with `why_different` (what changed: the generator, its source, a tool)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise cannot_write(folder, exc) from None
    temps = {}
    try:
        for stem, array in arrays.items():
            temps[stem] = write_gzipped_idx(folder, stem, array)
            expected = recorded_file(spec, Path(f"{stem}.gz")).sha256
            actual = sha256_file(temps[stem], decompress=True)
            if actual != expected:
                raise DataError(f"{spec.name}: the generated {stem} has payload SHA-256 {actual[:12]}…, the "
                                f"catalog records {expected[:12]}…: {why_different}")
        for stem, tmp in temps.items():
            try:
                os.replace(tmp, folder / f"{stem}.gz")
            except OSError as exc:
                raise cannot_write(folder / f"{stem}.gz", exc) from None
    finally:
        for tmp in temps.values():
            tmp.unlink(missing_ok=True)
    return {f.name: folder / f.name for f in spec.files}


def write_gzipped_idx(folder: Path, stem: str, array: np.ndarray) -> Path:
    """`array` as a gzipped IDX file under a temporary name in `folder`; returns that name.

    write_idx gzips at level 9, which takes ~8 s for 41 MB of canvases; level 1 takes 0.4 s and is
    17% larger. No name or time goes into the gzip header, so the same array gives the same bytes.
    """
    raw = new_temporary(folder / stem, ".part")
    packed = new_temporary(folder / stem, ".part.gz")  # a new file's usual mode, not mkstemp's private one
    try:
        write_idx(Path(raw), array)  # uncompressed: the name does not end in .gz
        with open(raw, "rb") as src, open(packed, "wb") as out, \
                gzip.GzipFile(filename="", mode="wb", fileobj=out, compresslevel=1, mtime=0) as gz:
            shutil.copyfileobj(src, gz, 1 << 20)
    except OSError as exc:
        Path(packed).unlink(missing_ok=True)
        raise cannot_write(folder / stem, exc) from None
    except BaseException:
        Path(packed).unlink(missing_ok=True)
        raise
    finally:
        Path(raw).unlink(missing_ok=True)
    return Path(packed)
