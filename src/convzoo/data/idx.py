"""IDX files (the MNIST family's format), read with every field validated.

Layout: two zero bytes, a type code (0x08 = uint8), the number of dimensions, then one
big-endian uint32 per dimension, then the payload. MNIST's images have magic 2051 (0x00000803,
3 dims) and labels 2049 (0x00000801, 1 dim). A truncated or padded file is an error, not a
silently short dataset.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

from ..atomic import write_bytes
from ..errors import DataError

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049
_UINT8 = 0x08


MAX_PAYLOAD = 1 << 30  # bytes: an in-memory dataset file larger than 1 GiB is not one of ours
CHUNK = 1 << 20


def read_idx_bytes(path: Path) -> bytes:
    """The decompressed payload of `path` (gzip if it ends in .gz), or a DataError naming it.

    A gzip file is inflated in chunks and never past the size its IDX header announces (plus one
    byte, to tell a file with trailing bytes): a small file that inflates to gigabytes (a gzip bomb)
    is refused after at most that many bytes, and a header that announces more than MAX_PAYLOAD
    is refused before anything else is read."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            magic = f.read(2)
            f.seek(0)
            if path.suffix == ".gz" or magic == b"\x1f\x8b":
                return _inflate_idx(f, path)
            size = path.stat().st_size
            if size > MAX_PAYLOAD + 4 + 4 * 255:
                raise DataError(f"{path}: {size:,} bytes is over the {MAX_PAYLOAD:,}-byte limit of an IDX file")
            return f.read()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise DataError(f"{path}: a folder, not an IDX file") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror})") from None


def _inflate_idx(f, path: Path) -> bytes:
    out = bytearray()
    limit = None  # the announced size + 1, once the header is in
    inflater = zlib.decompressobj(wbits=31)  # gzip framing
    pending = b""
    try:
        while limit is None or len(out) < limit:
            data = pending or f.read(CHUNK)
            pending = b""
            if not data:
                break
            want = CHUNK if limit is None else limit - len(out)
            out += inflater.decompress(data, want)
            pending = inflater.unconsumed_tail
            if inflater.eof and inflater.unused_data:  # a second gzip member follows (gzip allows it)
                pending, inflater = inflater.unused_data, zlib.decompressobj(wbits=31)
            if limit is None and len(out) >= 4 and len(out) >= 4 + 4 * out[3]:
                header = 4 + 4 * out[3]
                size = header + int(np.prod(struct.unpack(f">{out[3]}I", out[4:header]), dtype=np.int64))
                if size > MAX_PAYLOAD:
                    raise DataError(f"{path}: its header announces {size:,} bytes, over the "
                                    f"{MAX_PAYLOAD:,}-byte limit of an IDX file")
                limit = size + 1
        if not inflater.eof and (limit is None or len(out) < limit):
            raise EOFError("compressed data ended before the end-of-stream marker")
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path}: corrupt gzip data ({exc})") from None
    return bytes(out)


def parse_idx(data: bytes, name: str, expect_magic: int | None = None) -> np.ndarray:
    """Parse IDX bytes into a uint8 array; `name` is used in error messages."""
    if len(data) < 4:
        raise DataError(f"{name}: too short to be an IDX file ({len(data)} bytes)")
    magic = struct.unpack(">I", data[:4])[0]
    zero, dtype_code, ndim = data[0:2], data[2], data[3]
    if zero != b"\x00\x00" or dtype_code != _UINT8 or ndim == 0:
        raise DataError(f"{name}: bad magic number {magic} (not an unsigned-byte IDX file)")
    if expect_magic is not None and magic != expect_magic:
        kind = {IMAGES_MAGIC: "images", LABELS_MAGIC: "labels"}.get(expect_magic, "?")
        raise DataError(f"{name}: magic number {magic}, expected {expect_magic} for an IDX {kind} file")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{name}: truncated header")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    expected = header + int(np.prod(dims, dtype=np.int64))
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "has trailing bytes"
        raise DataError(
            f"{name}: {what}: {len(data):,} bytes, expected {expected:,} for dimensions "
            f"{'x'.join(map(str, dims))}"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def read_idx(path: Path, expect_magic: int | None = None) -> np.ndarray:
    return parse_idx(read_idx_bytes(path), str(path), expect_magic)


def read_idx_pair(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, H, W) and labels (N,) that agree with each other."""
    images = read_idx(images_path, IMAGES_MAGIC)
    labels = read_idx(labels_path, LABELS_MAGIC)
    if images.ndim != 3:
        raise DataError(f"{images_path}: expected 3 dimensions (N, rows, cols), got {images.ndim}")
    if labels.ndim != 1:
        raise DataError(f"{labels_path}: expected 1 dimension, got {labels.ndim}")
    if len(images) != len(labels):
        raise DataError(
            f"{labels_path}: {len(labels):,} labels for {len(images):,} images in {images_path.name}"
        )
    return images, labels


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write a uint8 array as IDX (gzip if the name ends in .gz); used by tests and exports."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    data = bytes([0, 0, _UINT8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()
    path = Path(path)
    write_bytes(path, gzip.compress(data, mtime=0) if path.suffix == ".gz" else data)
