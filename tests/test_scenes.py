"""Segmentation scenes: the generator's promises, and digit-scenes made from the shipped digits."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import shutil

import numpy as np
import pytest
import torch
from conftest import require_mnist_10k, synthetic_digits, write_idx_dataset
from helpers import run_cli

from convzoo.cli import main
from convzoo.data import catalog, load_dataset, read_idx, write_idx
from convzoo.data import scenes as scenes_module
from convzoo.data.catalog import dataset_spec
from convzoo.data.datasets import content_hash
from convzoo.data.generated import write_gzipped_idx
from convzoo.data.scenes import GAP, INK, compose_scenes, generate, ink_boxes, make_scenes, overlay
from convzoo.errors import DataError

FILES = ("train-images-idx3-ubyte.gz", "train-masks-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz",
         "t10k-masks-idx3-ubyte.gz")


def _source(n=60, seed=0):
    """Synthetic 28x28 items (a bright bar per class over faint noise < INK), as the generator's input."""
    return synthetic_digits(n, seed)


def assert_one_line_error(code, err, *fragments):
    assert code != 0 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in err, err


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """`convzoo data get digit-scenes` once, into a temporary $CONVZOO_DATA (and an empty HOME)."""
    require_mnist_10k()
    root = tmp_path_factory.mktemp("scenes-data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CONVZOO_DATA", str(root))
        mp.setenv("HOME", str(tmp_path_factory.mktemp("scenes-home")))
        assert main(["data", "get", "digit-scenes"]) == 0
    return root / "digit-scenes"


@pytest.fixture
def data_copy(generated, tmp_path, monkeypatch):
    """A private copy of the generated files, found through $CONVZOO_DATA (for tests that damage it)."""
    shutil.copytree(generated, tmp_path / "digit-scenes")
    monkeypatch.setenv("CONVZOO_DATA", str(tmp_path))
    return tmp_path / "digit-scenes"


# ---- the generator on a small synthetic source -------------------------------------------

def test_ink_boxes_are_tight():
    images = np.zeros((3, 28, 28), np.uint8)
    images[0, 5:9, 10:12] = 255
    images[0, 3, 3] = INK - 1  # faint: not ink
    images[1, 0, 27] = INK
    assert ink_boxes(images).tolist() == [[5, 10, 9, 12], [0, 27, 1, 28], [-1, -1, -1, -1]]


def test_same_seed_same_scenes_other_seed_other_scenes():
    images, labels = _source()
    a = compose_scenes(images, labels, np.arange(60), 50, seed=7)
    b = compose_scenes(images, labels, np.arange(60), 50, seed=7)
    c = compose_scenes(images, labels, np.arange(60), 50, seed=8)
    for field in dataclasses.fields(a):
        assert np.array_equal(getattr(a, field.name), getattr(b, field.name)), field.name
    assert not np.array_equal(a.images, c.images) and not np.array_equal(a.sources, c.sources)


def test_items_never_overlap_and_the_mask_is_exactly_their_ink():
    images, labels = _source()
    scenes = compose_scenes(images, labels, np.arange(60), 200, seed=1)
    assert scenes.images.shape == scenes.masks.shape == (200, 64, 64)
    assert scenes.images.dtype == scenes.masks.dtype == np.uint8
    counts = (scenes.sources >= 0).sum(1)
    assert counts.min() >= 1 and counts.max() == 4 and len(set(counts.tolist())) == 4
    boxes = ink_boxes(images)
    for i in range(len(scenes)):
        everywhere_else = np.ones((64, 64), bool)
        placed = scenes.boxes[i, :counts[i]]
        assert (scenes.sources[i, counts[i]:] == -1).all() and (scenes.boxes[i, counts[i]:] == -1).all()
        for j, (top, left, bottom, right) in enumerate(placed):
            src = scenes.sources[i, j]
            assert 0 <= top < bottom <= 64 and 0 <= left < right <= 64
            y0, x0, y1, x1 = boxes[src]
            crop = images[src, y0:y1, x0:x1]
            assert np.array_equal(scenes.images[i, top:bottom, left:right], crop)  # the item itself, whole
            ink = crop >= INK
            assert np.array_equal(scenes.masks[i, top:bottom, left:right], np.where(ink, labels[src] + 1, 0))
            everywhere_else[top:bottom, left:right] = False
            for t, lft, b, r in placed[j + 1:]:  # disjoint, with GAP background pixels between
                assert t >= bottom + GAP or top >= b + GAP or lft >= right + GAP or left >= r + GAP
        assert not scenes.images[i][everywhere_else].any() and not scenes.masks[i][everywhere_else].any()
    assert np.array_equal(scenes.masks > 0, scenes.images >= INK)


def test_a_crowded_canvas_takes_fewer_items():
    images = np.zeros((1, 28, 28), np.uint8)
    images[0, 1:27, 1:27] = 200  # 26x26: two fit side by side on 64x64, four only in an exact grid
    scenes = compose_scenes(images, np.zeros(1, np.uint8), [0], 100, seed=0, tries=3)
    counts = (scenes.sources >= 0).sum(1)
    assert counts.min() >= 1 and (counts < 4).sum() > 50
    assert (scenes.masks == 1).sum((1, 2)).tolist() == (counts * 26 * 26).tolist()


def test_gzipped_files_are_byte_identical_for_the_same_array(tmp_path):
    array = compose_scenes(*_source(), np.arange(60), 20, seed=3).masks
    first, second = (write_gzipped_idx(tmp_path, name, array) for name in ("a", "b"))
    assert first.read_bytes() == second.read_bytes()
    assert np.array_equal(read_idx(first.rename(tmp_path / "m.gz"), 2051), array)


def test_overlay_tints_only_labelled_pixels():
    images = np.full((1, 1, 4, 4), 200, np.uint8)
    masks = np.zeros((1, 4, 4), np.uint8)
    masks[0, 0, 0], masks[0, 0, 1] = 1, 2
    rgb = overlay(images, masks)
    assert rgb.shape == (1, 3, 4, 4) and rgb.dtype == np.uint8
    assert (rgb[0, :, 1:] == 200).all()  # background keeps its grey
    assert len({tuple(rgb[0, :, 0, 0]), tuple(rgb[0, :, 0, 1]), (200, 200, 200)}) == 3


# ---- digit-scenes from the real shipped digits -------------------------------------------

def test_train_and_test_scenes_use_disjoint_source_digits():
    require_mnist_10k()
    scenes = make_scenes("digit-scenes", counts={"train": 400, "test": 300})
    train, test = (set(s.sources[s.sources >= 0].tolist()) for s in (scenes["train"], scenes["test"]))
    assert train and test and not train & test
    assert max(train | test) < 10_000


def test_data_get_writes_the_recorded_files(generated):
    spec = dataset_spec("digit-scenes")
    assert sorted(p.name for p in generated.iterdir()) == sorted(FILES)  # and no temporary files
    for f in spec.files:  # the catalog's hashes are constants of the deterministic generator
        assert hashlib.sha256(gzip.decompress((generated / f.name).read_bytes())).hexdigest() == f.sha256


@pytest.mark.slow
def test_load_digit_scenes_as_masks(data_copy):
    bundle = load_dataset("digit-scenes")
    train, test = bundle.train, bundle.test
    assert train.images.shape == (10_000, 1, 64, 64) and train.labels.shape == (10_000, 64, 64)
    assert train.images.dtype == train.labels.dtype == torch.uint8 and len(test) == 2_000
    assert train.task == "segmentation" and bundle.describe()["task"] == "segmentation"
    assert train.classes == ("background", *"0123456789") and not train.flippable and not bundle.notes
    assert int(train.labels.max()) == 10 and torch.equal(train.labels > 0, train.images[:, 0] >= INK)
    assert dataset_spec("fashion-scenes").flippable and dataset_spec("fashion-scenes").classes[1] == "T-shirt/top"

    split = load_dataset("digit-scenes", val_split=0.1, test_holdout=500)
    assert (len(split.train), len(split.val), len(split.test)) == (8_550, 950, 500)
    assert split.val.labels.shape == (950, 64, 64) and split.test.labels.dtype == torch.uint8
    assert content_hash(split.val) != content_hash(split.test)
    assert content_hash(train.subset(torch.arange(5))) == content_hash(train.subset(torch.arange(5)))


def test_data_show_draws_masks(data_copy, capsys, tmp_path):
    code, out, _ = run_cli(capsys, "data", "show", "digit-scenes", "-o", tmp_path / "g.png", "-n", "4")
    assert code == 0 and (tmp_path / "g.png").read_bytes()[:4] == b"\x89PNG"
    code, out, _ = run_cli(capsys, "data", "list")
    assert code == 0 and f"segmentation    {data_copy}" in out and "fashion-scenes" in out


@pytest.mark.slow
def test_tampered_or_truncated_files_are_refused_and_data_get_repairs_them(data_copy, capsys):
    masks, images = data_copy / "train-masks-idx3-ubyte.gz", data_copy / "t10k-images-idx3-ubyte.gz"
    originals = {path: path.read_bytes() for path in (masks, images)}
    payload = bytearray(gzip.decompress(originals[masks]))
    payload[-1] ^= 1  # still a valid IDX file with in-range labels: only the checksum can tell
    masks.write_bytes(gzip.compress(bytes(payload), compresslevel=1))
    code, _, err = run_cli(capsys, "data", "show", "digit-scenes")
    assert_one_line_error(code, err, str(masks), "recorded SHA-256", "convzoo data get digit-scenes")

    masks.write_bytes(originals[masks])
    images.write_bytes(originals[images][:1000])
    with pytest.raises(DataError) as err:
        load_dataset("digit-scenes")
    message = str(err.value)
    assert len(message.splitlines()) == 1 and message.startswith(f"{images}: corrupt gzip data")
    assert message.endswith("run `convzoo data get digit-scenes` to make it again")

    masks.write_bytes(gzip.compress(bytes(payload), compresslevel=1))  # both damaged: one `data get` makes all again
    code, out, _ = run_cli(capsys, "data", "get", "digit-scenes")
    assert code == 0 and out == f"digit-scenes: {data_copy}\n"  # in the folder where they were found
    assert all(path.read_bytes() == data for path, data in originals.items())


def test_missing_scenes_say_how_to_make_them(capsys, monkeypatch):
    with pytest.raises(DataError, match=r"not found; get it with `convzoo data get digit-scenes`"):
        load_dataset("digit-scenes")
    code, _, err = run_cli(capsys, "data", "show", "fashion-scenes")
    assert_one_line_error(code, err, "convzoo data get fashion-scenes", "Fashion-MNIST",
                          "apt-get install dataset-fashion-mnist")
    # Without Fashion-MNIST anywhere, making fashion-scenes says what it needs (and downloads nothing).
    fashion = dataset_spec("fashion-mnist")
    monkeypatch.setitem(catalog.DATASETS, "fashion-mnist", dataclasses.replace(fashion, system_dirs=()))
    code, _, err = run_cli(capsys, "data", "get", "fashion-scenes")
    assert_one_line_error(code, err, "fashion-scenes is made from fashion-mnist, which was not found",
                          "convzoo data get fashion-mnist")


def test_a_generator_that_disagrees_with_the_catalog_writes_nothing(tmp_path, monkeypatch):
    require_mnist_10k()
    monkeypatch.setattr(scenes_module, "COUNTS", {"train": 50, "test": 20})  # other files, other hashes
    with pytest.raises(DataError, match="generated train-images-idx3-ubyte has payload SHA-256"):
        generate("digit-scenes", tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []


def test_the_fashion_source_must_be_canonical(tmp_path, monkeypatch):
    """A Fashion-MNIST-shaped folder that is not Fashion-MNIST cannot make fashion-scenes."""
    write_idx_dataset(tmp_path / "fashion-mnist", n_train=30, n_test=10)
    monkeypatch.setenv("CONVZOO_DATA", str(tmp_path))
    with pytest.raises(DataError, match="not the canonical fashion-mnist file"):
        make_scenes("fashion-scenes")


def test_masks_round_trip_through_idx(tmp_path):
    masks = compose_scenes(*_source(), np.arange(60), 5, seed=0).masks
    write_idx(tmp_path / "m.gz", masks)
    assert np.array_equal(read_idx(tmp_path / "m.gz", 2051), masks)
