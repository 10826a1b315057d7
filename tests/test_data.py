"""Data: IDX validation, dataset search order, in-memory batches and augmentation."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import MNIST_10K, require_mnist_10k, synthetic_digits, write_idx_dataset

import convzoo
from convzoo.data import Augment, BatchLoader, load_dataset, read_idx, read_idx_pair, write_idx
from convzoo.data.batches import AugmentDraw, erase_batch, translate_batch
from convzoo.data.catalog import dataset_spec, find_files, search_dirs
from convzoo.errors import ConvzooError, DataError


def _idx_bytes(magic: int, dims: tuple[int, ...], payload: bytes) -> bytes:
    return struct.pack(">I", magic) + struct.pack(f">{len(dims)}I", *dims) + payload


# ---- IDX reader --------------------------------------------------------------------------

def test_idx_round_trip(tmp_path):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    for name in ("x-idx3-ubyte", "x-idx3-ubyte.gz"):
        write_idx(tmp_path / name, images)
        np.testing.assert_array_equal(read_idx(tmp_path / name, 2051), images)


@pytest.mark.parametrize("data, message", [
    (_idx_bytes(2049, (2, 2, 2), bytes(8)), "magic number 2049, expected 2051"),
    (_idx_bytes(0x0D03, (2, 2, 2), bytes(8)), "bad magic number"),
    (_idx_bytes(2051, (2, 2, 2), bytes(7)), "truncated: 23 bytes, expected 24"),
    (_idx_bytes(2051, (2, 2, 2), bytes(9)), "trailing bytes"),
    (b"\x00\x00", "too short"),
    (struct.pack(">I", 2051) + b"\x00\x00\x00\x02", "truncated header"),
], ids=["labels-magic", "wrong-type", "truncated", "trailing", "tiny", "short-header"])
def test_idx_rejects_bad_files_naming_file_and_problem(tmp_path, data, message):
    path = tmp_path / "bad-images-idx3-ubyte"
    path.write_bytes(data)
    with pytest.raises(DataError) as err:
        read_idx(path, 2051)
    assert str(path) in str(err.value) and message in str(err.value)


def test_idx_corrupt_gzip(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(_idx_bytes(2051, (1, 2, 2), bytes(4)))[:-10])
    with pytest.raises(DataError, match="corrupt gzip"):
        read_idx(path)


def test_images_and_labels_must_agree(tmp_path):
    write_idx(tmp_path / "i.gz", np.zeros((5, 28, 28), np.uint8))
    lab = tmp_path / "l.gz"
    lab.write_bytes(gzip.compress(_idx_bytes(2049, (4,), bytes(4))))
    with pytest.raises(DataError, match="4 labels for 5 images"):
        read_idx_pair(tmp_path / "i.gz", lab)


# ---- datasets and the search order -------------------------------------------------------

def test_load_idx_dataset_in_memory(tiny_data_dir):
    bundle = load_dataset("fashion-mnist", tiny_data_dir)
    assert bundle.train.images.dtype == torch.uint8 and bundle.train.images.shape == (600, 1, 28, 28)
    assert bundle.test.labels.dtype == torch.int64 and len(bundle.test) == 200
    images, _ = synthetic_digits(600, 0)
    assert torch.equal(bundle.train.images[:, 0], torch.from_numpy(images))
    assert bundle.train.classes[0] == "T-shirt/top" and not bundle.notes


def test_missing_test_split_is_held_out_and_said(tmp_path):
    folder = write_idx_dataset(tmp_path / "digits", n_train=500, with_test=False)
    bundle = load_dataset("mnist", folder, test_holdout=100, seed=3)
    assert (len(bundle.train), len(bundle.test)) == (400, 100)
    assert "held out" in bundle.notes[0]
    again = load_dataset("mnist", folder, test_holdout=100, seed=3)
    assert torch.equal(bundle.test.images, again.test.images)  # seeded: the same split every time
    train_rows = {bytes(x.numpy()) for x in bundle.train.images}
    assert not any(bytes(x.numpy()) in train_rows for x in bundle.test.images)


def test_validation_split(tiny_data_dir):
    bundle = load_dataset("fashion-mnist", tiny_data_dir, val_split=0.25)
    assert (len(bundle.train), len(bundle.val)) == (450, 150)
    with pytest.raises(DataError, match="between 0 and 1"):
        load_dataset("fashion-mnist", tiny_data_dir, val_split=1.5)


def test_search_order_explicit_then_env_then_cache_then_system(tmp_path, monkeypatch):
    spec = dataset_spec("fashion-mnist")
    env, home = tmp_path / "env", tmp_path / "home"
    monkeypatch.setenv("CONVZOO_DATA", str(env))
    monkeypatch.setenv("HOME", str(home))
    dirs = search_dirs(spec)
    assert dirs == [env / "fashion-mnist", home / ".cache/convzoo/fashion-mnist",
                    *map(type(env), spec.system_dirs)]
    assert search_dirs(spec, tmp_path / "x") == [tmp_path / "x/fashion-mnist", tmp_path / "x"]
    write_idx_dataset(home / ".cache/convzoo/fashion-mnist", 20, 10)
    assert find_files(spec)["train-images-idx3-ubyte.gz"].parent == home / ".cache/convzoo/fashion-mnist"
    write_idx_dataset(env / "fashion-mnist", 20, 10)  # the env folder wins over the cache
    assert find_files(spec)["train-images-idx3-ubyte.gz"].parent == env / "fashion-mnist"


def test_missing_dataset_says_how_to_get_it(tmp_path):
    with pytest.raises(DataError, match="convzoo data get mnist"):
        load_dataset("mnist")
    with pytest.raises(DataError, match="does not hold"):
        load_dataset("mnist", tmp_path)


def test_unknown_dataset_suggests():
    with pytest.raises(ConvzooError, match="did you mean fashion-mnist"):
        load_dataset("fashion-mnis")


def test_wrong_image_size_is_rejected(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", np.zeros((4, 32, 32), np.uint8))
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(4, np.uint8))
    with pytest.raises(DataError, match="32x32"):
        load_dataset("fashion-mnist", tmp_path)


def test_label_out_of_range(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", np.zeros((4, 28, 28), np.uint8))
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.array([0, 1, 2, 12], np.uint8))
    with pytest.raises(DataError, match="label 12 out of range"):
        load_dataset("fashion-mnist", tmp_path)


def test_mnist_sample_ships_with_the_package_and_holds_out_a_seeded_test_set():
    require_mnist_10k()
    spec = dataset_spec("mnist-sample")
    assert spec.system_dirs == (str(MNIST_10K),) and MNIST_10K.is_relative_to(Path(convzoo.__file__).parent)
    bundle = load_dataset("mnist-sample")
    assert (len(bundle.train), len(bundle.test)) == (9000, 1000) and not bundle.train.flippable
    assert bundle.train.classes == tuple("0123456789") and bundle.describe()["task"] == "classification"
    assert "1,000 training examples held out (seed 0), mnist-sample has no test split" in bundle.notes[0]
    # The same 1,000 digits the pretrained `digits` model was evaluated on (mnist, --test-holdout 1000).
    assert torch.equal(bundle.test.images, load_dataset("mnist", MNIST_10K, test_holdout=1000).test.images)


def test_mnist_sample_refuses_other_digits(tmp_path, monkeypatch):
    write_idx_dataset(tmp_path / "mnist-sample", n_train=50, with_test=False)  # valid IDX, other bytes
    monkeypatch.setenv("CONVZOO_DATA", str(tmp_path))  # searched before the package's copy
    with pytest.raises(DataError) as err:
        load_dataset("mnist-sample")
    message = str(err.value)
    assert len(message.splitlines()) == 1 and "train-images-idx3-ubyte.gz" in message
    assert "recorded SHA-256" in message and "reinstall" in message


def test_masks_are_checked_like_labels(tmp_path):
    from convzoo.data.datasets import _check_labels

    _check_labels(np.full((2, 4, 4), 10, np.uint8), 11, "ok")
    with pytest.raises(DataError, match="m.gz: label 11 out of range for 11 classes"):
        _check_labels(np.full((2, 4, 4), 11, np.uint8), 11, "m.gz")


# ---- batches and augmentation ------------------------------------------------------------

def test_batches_cover_the_epoch_once_and_normalise(tiny_data_dir):
    data = load_dataset("fashion-mnist", tiny_data_dir).train
    loader = BatchLoader(data, 64, shuffle=True, generator=torch.Generator().manual_seed(1))
    labels = torch.cat([y for _, y in loader])
    assert len(loader) == 10 and torch.equal(labels.sort().values, data.labels.sort().values)
    x, _ = next(iter(BatchLoader(data, 600)))
    expected = (data.images.float() / 255 - data.mean[0]) / data.std[0]
    torch.testing.assert_close(x, expected)


def test_ranks_share_each_global_batch_of_one_process(tiny_data_dir):
    """N processes see, between them, exactly the (augmented) batches one process sees."""
    data = load_dataset("fashion-mnist", tiny_data_dir).train

    def batches(rank, world):
        loader = BatchLoader(data, 150, shuffle=True, augment=Augment(translate=2, flip=True, erase=0.5),
                             generator=torch.Generator().manual_seed(7), rank=rank, world_size=world)
        assert len(loader) == 4
        return list(loader.batches())

    whole = batches(0, 1)
    shares = [batches(rank, 3) for rank in range(3)]
    for step, (x, y, n) in enumerate(whole):
        assert n == 150 and all(share[step][2] == 150 for share in shares)
        for rank, share in enumerate(shares):
            assert torch.equal(share[step][0], x[rank::3]) and torch.equal(share[step][1], y[rank::3])


def test_evaluation_shards_cover_the_test_set_once(tiny_data_dir):
    data = load_dataset("fashion-mnist", tiny_data_dir).test
    parts = [torch.cat([y for _, y in BatchLoader(data, 64, rank=r, world_size=3)]) for r in range(3)]
    assert torch.equal(torch.cat(parts), data.labels)  # in order, no padding, no duplicates


def test_translate_shifts_each_image_by_its_own_offset():
    images = torch.zeros(64, 1, 9, 9, dtype=torch.uint8)
    images[:, :, 4, 4] = 255  # one bright pixel in the centre
    draw = AugmentDraw.draw(Augment(translate=2), len(images), torch.Generator().manual_seed(0))
    shifted = translate_batch(images, 2, draw.offsets)
    where = shifted[:, 0].flatten(1).argmax(1)
    rows, cols = where // 9, where % 9
    assert shifted.sum(dim=(1, 2, 3)).eq(255).all()  # nothing lost within ±2 of the centre
    assert rows.sub(4).abs().max() <= 2 and cols.sub(4).abs().max() <= 2
    assert len(set(zip(rows.tolist(), cols.tolist()))) > 10  # offsets differ per image


def test_flip_and_parse():
    assert Augment.parse("crop+flip") == Augment(translate=2, flip=True)
    assert Augment.parse("crop4") == Augment(translate=4)
    assert Augment.parse("crop+flip+erase") == Augment(translate=2, flip=True, erase=0.5)
    assert Augment.parse("erase25") == Augment(erase=0.25) and Augment.parse("erase25")
    for bad in ("erase0", "erase101"):
        with pytest.raises(ValueError, match=f"augmentation '{bad}': the percentage of images erased must be 1-100"):
            Augment.parse(bad)
    assert Augment.parse("auto", flippable=False) == Augment(translate=2, flip=False)
    assert not Augment.parse("none")
    with pytest.raises(ValueError, match="unknown augmentation"):
        Augment.parse("rotate")
    images = torch.arange(4 * 3, dtype=torch.uint8).reshape(4, 1, 1, 3).repeat(8, 1, 1, 1)
    from convzoo.data.batches import flip_batch

    out = flip_batch(images, AugmentDraw.draw(Augment(flip=True), len(images), torch.Generator().manual_seed(0)).flips)
    flipped = (out != images).any(dim=(1, 2, 3))
    assert 0 < flipped.sum() < len(images)
    assert torch.equal(out[flipped], images[flipped].flip(-1))


def test_random_erasing_fills_one_rectangle_of_the_papers_size_in_the_chosen_share_of_images():
    """Zhong et al.'s random erasing: each chosen image gets one axis-aligned rectangle of 2-40 % of
    its area (clipped to the image) filled with noise; the others and every pixel outside are kept."""
    n, h, w = 2000, 28, 28
    images = torch.full((n, 2, h, w), 7, dtype=torch.uint8)
    draw = AugmentDraw.draw(Augment(erase=0.25), n, torch.Generator().manual_seed(3), (2, h, w))
    out = erase_batch(images, draw.boxes, draw.noise)
    changed = out != images  # noise equal to 7 hides a few pixels: compare with the noise instead
    from_noise = out == draw.noise
    erased = draw.boxes[2] > 0
    assert 0.22 < erased.float().mean() < 0.28
    assert not changed[~erased].any()
    top, left, height, width = draw.boxes[:, erased]
    assert (top >= 0).all() and (left >= 0).all() and (top + height <= h).all() and (left + width <= w).all()
    area = (height * width).float() / (h * w)
    assert area.min() >= 0.01 and area.max() <= 0.5 and 0.15 < area.mean() < 0.25  # uniform 0.02-0.4, clipped
    for i in erased.nonzero().flatten()[:50].tolist():
        t, l, hh, ww = draw.boxes[:, i].tolist()
        inside = torch.zeros(h, w, dtype=torch.bool)
        inside[t:t + hh, l:l + ww] = True
        assert from_noise[i][:, inside].all() and (out[i][:, ~inside] == 7).all()  # both channels alike
    assert draw.noise[erased].float().std() > 60  # noise over the byte range, not a constant


def test_erasing_needs_the_images_shape():
    with pytest.raises(ValueError, match="erasing needs the images' shape"):
        AugmentDraw.draw(Augment(erase=0.5), 4, torch.Generator())
