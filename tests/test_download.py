"""Downloads against a local HTTP server, and CIFAR-10's verify-then-unpickle path."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import pickle
import tarfile

import numpy as np
import pytest
from helpers import local_file_server

from convzoo.data import dataset_spec, fetch, load_dataset, write_idx
from convzoo.data.datasets import _load_cifar10
from convzoo.data.download import download
from convzoo.errors import DataError

PAYLOAD = bytes(range(256)) * 64
ARCHIVE = gzip.compress(PAYLOAD, mtime=0)


@pytest.fixture(scope="module")
def server():
    with local_file_server() as served:
        yield served


def _leftovers(folder):
    return [p.name for p in folder.iterdir() if p.name.startswith(".")]


def test_good_file_is_verified_by_payload_and_renamed_into_place(server, tmp_path):
    url, routes = server
    routes["/ok/f.gz"] = ARCHIVE
    dest = download(f"{url}/ok/f.gz", tmp_path / "f.gz", hashlib.sha256(PAYLOAD).hexdigest(), payload=True)
    assert dest.read_bytes() == ARCHIVE and not _leftovers(tmp_path)


def test_wrong_checksum_leaves_nothing(server, tmp_path):
    url, routes = server
    routes["/ok/g.gz"] = ARCHIVE
    with pytest.raises(DataError, match="checksum mismatch"):
        download(f"{url}/ok/g.gz", tmp_path / "g.gz", "0" * 64, payload=True)
    assert not (tmp_path / "g.gz").exists() and not _leftovers(tmp_path)


def test_connection_dropped_midway_leaves_nothing(server, tmp_path):
    url, routes = server
    routes["/drop/h.gz"] = ARCHIVE
    with pytest.raises(DataError, match="dropped|closed after"):
        download(f"{url}/drop/h.gz", tmp_path / "h.gz", hashlib.sha256(PAYLOAD).hexdigest(), payload=True)
    assert not (tmp_path / "h.gz").exists() and not _leftovers(tmp_path)


def test_http_error(server, tmp_path):
    url, _ = server
    with pytest.raises(DataError, match="HTTP 404"):
        download(f"{url}/missing.gz", tmp_path / "m.gz", "0" * 64)


def test_fetch_falls_back_to_the_next_mirror_and_loads(server, tmp_path):
    """A whole dataset downloaded from a (local) mirror, verified by payload hashes, then loaded."""
    url, routes = server
    rng = np.random.default_rng(0)
    arrays = {"train-images-idx3-ubyte": rng.integers(0, 255, (30, 28, 28), dtype=np.uint8),
              "train-labels-idx1-ubyte": rng.integers(0, 10, 30, dtype=np.uint8),
              "t10k-images-idx3-ubyte": rng.integers(0, 255, (10, 28, 28), dtype=np.uint8),
              "t10k-labels-idx1-ubyte": rng.integers(0, 10, 10, dtype=np.uint8)}
    files = []
    for name, array in arrays.items():
        write_idx(tmp_path / name, array)  # uncompressed: the payload the checksum covers
        raw = (tmp_path / name).read_bytes()
        routes[f"/mirror/{name}.gz"] = gzip.compress(raw)
        files.append(dataclasses.replace(dataset_spec("mnist").files[len(files)],
                                         sha256=hashlib.sha256(raw).hexdigest()))
    spec = dataclasses.replace(dataset_spec("mnist"), files=tuple(files))
    paths = fetch(spec, tmp_path / "mnist", mirrors=(f"{url}/nowhere/", f"{url}/mirror/"))
    assert set(paths) == {f.name for f in files}
    bundle = load_dataset("mnist", tmp_path / "mnist")
    np.testing.assert_array_equal(bundle.train.images[:, 0].numpy(), arrays["train-images-idx3-ubyte"])


# ---- CIFAR-10: checksum before unpickling, tar's data filter ------------------------------

def _cifar_archive(tmp_path, batches: dict[str, bytes], extra: tarfile.TarInfo | None = None):
    path = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name, blob in batches.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
        if extra is not None:
            tar.addfile(extra, io.BytesIO(b"x" * extra.size))
    return path


def _batch(n, seed):
    rng = np.random.default_rng(seed)
    return pickle.dumps({b"data": rng.integers(0, 255, (n, 3072), dtype=np.uint8),
                         b"labels": rng.integers(0, 10, n).tolist()})


def _spec_for(path):
    spec = dataset_spec("cifar10")
    file = dataclasses.replace(spec.files[0], sha256=hashlib.sha256(path.read_bytes()).hexdigest())
    return dataclasses.replace(spec, files=(file,))


def test_cifar10_loads_after_checksum(tmp_path):
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    path = _cifar_archive(tmp_path, {n: _batch(4, i) for i, n in enumerate(names)})
    train, test = _load_cifar10(path, _spec_for(path))
    assert train.images.shape == (20, 3, 32, 32) and test.images.shape == (4, 3, 32, 32)


def test_cifar10_wrong_checksum_is_refused_before_unpickling(tmp_path):
    path = _cifar_archive(tmp_path, {"data_batch_1": b"not a pickle"})
    with pytest.raises(DataError, match="checksum mismatch"):
        _load_cifar10(path, dataset_spec("cifar10"))


def test_cifar10_refuses_pickled_code_and_path_traversal(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    names = [f"data_batch_{i}" for i in range(1, 6)]
    path = _cifar_archive(tmp_path, {n: pickle.dumps({b"data": Evil(), b"labels": []}) for n in names})
    with pytest.raises(DataError, match="refusing to unpickle builtins.print"):
        _load_cifar10(path, _spec_for(path))
    escape = tarfile.TarInfo("../escaped.txt")
    escape.size = 3
    (tmp_path / "t").mkdir()
    path = _cifar_archive(tmp_path / "t", {"data_batch_1": _batch(1, 0)}, extra=escape)
    with pytest.raises(DataError, match="cannot extract"):
        _load_cifar10(path, _spec_for(path))
    assert not (tmp_path / "escaped.txt").exists()


def test_imagefolder(tmp_path):
    from PIL import Image

    for split, n in (("train", 4), ("test", 2)):
        for cls, colour in (("cats", 30), ("dogs", 220)):
            folder = tmp_path / split / cls
            folder.mkdir(parents=True)
            for i in range(n):
                Image.new("RGB", (16, 12), (colour, i, 0)).save(folder / f"{i}.png")
    (tmp_path / "train" / ".hidden").mkdir()
    (tmp_path / "train" / "cats" / "notes.txt").write_text("not an image")
    bundle = load_dataset("imagefolder", tmp_path)
    assert bundle.train.classes == ("cats", "dogs")
    assert bundle.train.images.shape == (8, 3, 12, 16) and len(bundle.test) == 4
    (tmp_path / "train" / "dogs" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    with pytest.raises(DataError, match="broken.png: not a readable image"):
        load_dataset("imagefolder", tmp_path)
