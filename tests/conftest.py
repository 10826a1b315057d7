"""Shared fixtures: tiny synthetic datasets written as real files, and a tiny trained run."""

from __future__ import annotations

import os
from pathlib import Path

# `make test` runs two pytest-xdist workers on the two cores: one thread each, so that they do not
# fight over the cores (torch's default is a thread per core in every process).
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)

import numpy as np
import pytest

from convzoo.data import dataset_spec, write_idx
from convzoo.data.catalog import PACKAGE_FILES

# 10,000 real MNIST digits ship inside the package (data/files/mnist-sample) as `mnist-sample`.
MNIST_10K = PACKAGE_FILES / "mnist-sample"


def require_mnist_10k() -> Path:
    """The real digits, or a failure that says where they should be (never a silent skip)."""
    if not all((MNIST_10K / f.name).is_file() for f in dataset_spec("mnist-sample").files):
        pytest.fail(f"{MNIST_10K}: the shipped MNIST digits (mnist-sample) are missing")
    return MNIST_10K


def synthetic_digits(n: int, seed: int = 0, size: int = 28, classes: int = 10):
    """Learnable 28x28 uint8 images: class k is a bright bar at a class-specific place, plus noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n).astype(np.uint8)
    images = rng.integers(0, 40, (n, size, size)).astype(np.uint8)
    for i, k in enumerate(labels):
        row = 3 + (k % 5) * 5
        col = 4 if k < 5 else 16
        images[i, row:row + 3, col:col + 8] = 255
    return images, labels


def write_idx_dataset(folder, n_train=600, n_test=200, seed=0, with_test=True):
    folder.mkdir(parents=True, exist_ok=True)
    images, labels = synthetic_digits(n_train, seed)
    write_idx(folder / "train-images-idx3-ubyte.gz", images)
    write_idx(folder / "train-labels-idx1-ubyte.gz", labels)
    if with_test:
        images, labels = synthetic_digits(n_test, seed + 1)
        write_idx(folder / "t10k-images-idx3-ubyte.gz", images)
        write_idx(folder / "t10k-labels-idx1-ubyte.gz", labels)
    return folder


@pytest.fixture(scope="session")
def tiny_data_dir(tmp_path_factory):
    """A Fashion-MNIST-shaped IDX dataset (600 train, 200 test), for --data-dir."""
    return write_idx_dataset(tmp_path_factory.mktemp("tiny-idx"))


@pytest.fixture(autouse=True)
def _isolated_data_env(monkeypatch, tmp_path_factory):
    """No test reads or writes the user's real cache or $CONVZOO_DATA."""
    home = tmp_path_factory.getbasetemp() / "home"
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("CONVZOO_DATA", raising=False)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, tiny_data_dir):
    """A run directory of lenet_modern trained 2 epochs on the tiny dataset (fp32, seeded)."""
    from convzoo.train import TrainConfig, Trainer

    out = tmp_path_factory.mktemp("runs") / "tiny"
    config = TrainConfig(model="lenet_modern", data="fashion-mnist", data_dir=str(tiny_data_dir),
                         epochs=2, batch_size=64, lr=0.05, precision="fp32", out=str(out), progress=False)
    Trainer(config).fit()
    return out


# Fixtures that train or fit models (or generate a dataset) once for the tests that use them: such a
# test is a training-run test, marked slow (skipped by `pytest -m "not slow"`, run by `make test`).
EXPENSIVE_FIXTURES = {"tiny_run", "fitted", "raced", "lenet_runs", "fashion_run", "generated"}


def pytest_collection_modifyitems(items):
    for item in items:
        if EXPENSIVE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
