"""Images keep their information: every Pillow mode a PNG or JPEG opens as becomes 8 bits by scaling
(infer.images.eight_bit), so a 16-bit grey picture gives the same answer as its 8-bit twin in
`predict` and `segment` instead of being clipped to black and white."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from helpers import run_cli as run
from PIL import Image

from convzoo.infer import read_image
from convzoo.infer.images import eight_bit


@pytest.fixture(scope="module")
def grey():
    """A digit-like 28x28 stroke with every grey level from 0 to 255 on it."""
    arr = np.zeros((28, 28), np.uint8)
    arr[4:24, 12:16] = np.linspace(40, 255, 20, dtype=np.uint8)[:, None]
    arr[6:10, 8:20] = 128
    return arr


def _saved(tmp_path, name, image):
    path = tmp_path / name
    image.save(path)
    return path


def test_sixteen_and_thirty_two_bit_grey_scale_to_the_8_bit_picture(tmp_path, grey):
    wide = grey.astype(np.uint16) * 257
    path = _saved(tmp_path, "i16.png", Image.fromarray(wide))
    with Image.open(path) as raw:
        assert raw.mode.startswith("I")  # what Pillow opens a 16-bit grey PNG as: the case being tested
    assert np.array_equal(np.asarray(read_image(path)), grey)
    big_endian = Image.frombytes("I;16B", (28, 28), wide.astype(">u2").tobytes())
    for image in (Image.fromarray(wide.astype(np.int32)), big_endian):  # modes I and I;16B
        assert np.array_equal(np.asarray(eight_bit(image)), grey), image.mode


def test_float_palette_alpha_and_cmyk(tmp_path, grey):
    assert np.array_equal(np.asarray(eight_bit(Image.fromarray((grey / 255.0).astype(np.float32), "F"))), grey)
    floats = Image.fromarray(grey.astype(np.float32) * 2, "F")  # above 1: read as 0..255, clipped
    assert np.asarray(eight_bit(floats)).max() == 255 and np.asarray(eight_bit(floats))[6, 8] == 255
    la = Image.merge("LA", [Image.fromarray(grey), Image.new("L", (28, 28), 255)])
    palette = Image.fromarray(grey).convert("P")
    for name, image in (("la.png", la), ("p.png", palette)):
        assert np.array_equal(np.asarray(read_image(_saved(tmp_path, name, image)).convert("L")), grey), name
    rgb = np.stack([grey, grey // 2, 255 - grey], axis=-1)
    cmyk = _saved(tmp_path, "c.jpg", Image.fromarray(rgb).convert("CMYK"))
    back = read_image(cmyk)
    assert back.mode == "RGB" and np.abs(np.asarray(back, np.int16) - rgb).mean() < 8  # JPEG is lossy


def test_predict_answers_the_same_for_8_and_16_bit(tmp_path, grey, capsys):
    eight = _saved(tmp_path, "eight.png", Image.fromarray(grey))
    sixteen = _saved(tmp_path, "sixteen.png", Image.fromarray(grey.astype(np.uint16) * 257))
    code, out, err = run(capsys, "predict", "digits", eight, sixteen, "--json")
    assert code == 0, err
    first, second = (r["top"] for r in json.loads(out))
    assert [t["class"] for t in first] == [t["class"] for t in second]
    assert [t["probability"] for t in first] == pytest.approx([t["probability"] for t in second], abs=1e-6)


def test_segment_masks_the_same_for_8_and_16_bit(tmp_path, grey):
    from convzoo.apps.segment import segment_image
    from convzoo.models import create_model

    torch.manual_seed(0)
    model = create_model("unet_padded", num_classes=3, in_channels=1, input_size=64, width=2).eval()
    scene = np.kron(grey, np.ones((3, 3), np.uint8))
    eight = read_image(_saved(tmp_path, "s8.png", Image.fromarray(scene)))
    sixteen = read_image(_saved(tmp_path, "s16.png", Image.fromarray(scene.astype(np.uint16) * 257)))
    a, _ = segment_image(model, eight, mean=[0.06], std=[0.22])
    b, _ = segment_image(model, sixteen, mean=[0.06], std=[0.22])
    assert np.array_equal(a, b)


def test_an_image_folders_16_bit_files_are_scaled_too(tmp_path, grey):
    from convzoo.data.datasets import _open_image

    path = _saved(tmp_path, "d16.png", Image.fromarray(grey.astype(np.uint16) * 257))
    img = _open_image(path)
    assert img.mode == "L" and np.array_equal(np.asarray(img), grey)
