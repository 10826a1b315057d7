"""The NumPy LeNet learns: a short run on a small synthetic problem with a known answer."""

from __future__ import annotations

import numpy as np
import pytest

from convzoo.reference.net import LeNetBN, train_numpy


def synthetic_images(count: int, seed: int):
    """10 classes: class c is a bright 6x6 square at one of 10 places, moved up to 2 pixels at
    random, on uniform noise. Separable, but only by looking at where the square is."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, count)
    images = rng.integers(0, 100, (count, 28, 28)).astype(np.uint8)
    shift = rng.integers(-2, 3, (count, 2))
    for i, (label, (dy, dx)) in enumerate(zip(labels, shift)):
        top, left = 3 + 9 * (label // 4) + dy, 3 + 6 * (label % 4) + dx
        images[i, max(top, 0):top + 6, max(left, 0):left + 6] += 150
    return images, labels


@pytest.mark.slow
def test_train_numpy_learns_a_separable_problem():
    train_images, train_labels = synthetic_images(1600, seed=0)
    test_images, test_labels = synthetic_images(500, seed=1)
    lines = []
    # 50 steps per epoch, 4 epochs: 200 SGD steps
    result = train_numpy(train_images, train_labels, test_images[:, None], test_labels, epochs=4,
                         batch_size=32, lr=0.05, seed=0, log=lines.append)
    assert set(result) == {"test_acc", "test_loss", "train_loss", "examples_per_sec", "seconds", "epochs",
                           "history", "model"}
    assert [row["epoch"] for row in result["history"]] == [1, 2, 3, 4]
    assert result["history"][-1]["test_acc"] == result["test_acc"]
    assert result["epochs"] == 4 and result["examples_per_sec"] > 0
    assert result["test_acc"] >= 0.9, result  # chance is 0.1
    assert result["train_loss"] < 0.5 < np.log(10)  # the untrained loss is about log(10) = 2.3
    assert any("examples/s" in line for line in lines)
    epoch_losses = [float(line.split("train loss ")[1].split(",")[0]) for line in lines
                    if "train loss" in line]
    assert len(epoch_losses) == 4 and epoch_losses[-1] < epoch_losses[0] / 2


def test_lenet_shapes_and_parameter_count():
    model = LeNetBN(seed=0)
    logits = model.forward(np.zeros((3, 1, 28, 28), np.float32), training=False)
    assert logits.shape == (3, 10) and logits.dtype == np.float32
    # conv 1*6*25, conv 6*16*25, dense 400*120 and 120*84 (no bias: BN follows),
    # BN 2*(6+16+120+84), last dense 84*10+10
    assert model.num_parameters() == 150 + 2400 + 48_000 + 10_080 + 2 * 226 + 850


def test_train_numpy_rejects_other_image_sizes():
    images = np.zeros((10, 32, 32), np.uint8)
    with pytest.raises(ValueError, match="28x28"):
        train_numpy(images, np.zeros(10), images, np.zeros(10), log=lambda line: None)
