"""Preprocessing as MNIST was made: any size, place or polarity of a digit gives the same 28x28
image, and the pretrained digit model reads real held-out digits (and photos of them) so."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import MNIST_10K, require_mnist_10k
from PIL import Image

from convzoo.cli import main
from convzoo.data.preprocess import (
    DIGIT_BOX,
    background_and_ink,
    fashion_style,
    image_from_pixels,
    mnist_style,
)
from convzoo.errors import ConvzooError


@pytest.fixture(scope="module")
def held_out():
    """The 1,000 digits the pretrained model never saw (the model card's held-out set)."""
    require_mnist_10k()
    from convzoo.data import load_dataset

    test = load_dataset("mnist", MNIST_10K, test_holdout=1000, seed=0).test
    return test.images[:, 0].numpy(), test.labels.numpy()


def place(digit: np.ndarray, scale: float, canvas: tuple[int, int], at: tuple[int, int],
          invert: bool) -> Image.Image:
    """A 28x28 digit scaled by `scale`, pasted at `at` (top, left) into a black canvas, maybe inverted."""
    side = max(1, round(28 * scale))
    big = np.asarray(Image.fromarray(digit).resize((side, side), Image.Resampling.BILINEAR))
    field = np.zeros(canvas, np.uint8)
    field[at[0]:at[0] + side, at[1]:at[1] + side] = big
    return Image.fromarray(255 - field if invert else field)


def random_variant(digit: np.ndarray, rng: np.random.Generator) -> Image.Image:
    scale = float(rng.uniform(0.7, 5.0))
    side = round(28 * scale)
    canvas = (side + int(rng.integers(4, 3 * side)), side + int(rng.integers(4, 3 * side)))
    at = (int(rng.integers(0, canvas[0] - side + 1)), int(rng.integers(0, canvas[1] - side + 1)))
    return place(digit, scale, canvas, at, invert=bool(rng.integers(2)))


def photo_of(digit: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """A 'photo' of the digit on paper: dark ink on a light, shaded, noisy page, large and off-centre."""
    h, w = 480, 640
    page = 235 - 45 * np.linspace(0, 1, w)[None, :] - 15 * np.linspace(0, 1, h)[:, None]  # light, shaded
    ink = np.asarray(Image.fromarray(digit).resize((252, 252), Image.Resampling.BICUBIC), np.float64) / 255
    top, left = 40 + int(rng.integers(0, 150)), 60 + int(rng.integers(0, 280))
    region = page[top:top + 252, left:left + 252]
    page[top:top + 252, left:left + 252] = region * (1 - ink) + 35 * ink  # dark ink over the page
    page += rng.normal(0, 6, page.shape)
    return Image.fromarray(np.clip(page, 0, 255).astype(np.uint8))


def ink_runs(digit: np.ndarray, threshold: int = 128):
    """(row, first column, last column) of each horizontal run of ink: a digit as pen strokes."""
    for y, row in enumerate(digit > threshold):
        edges = np.flatnonzero(np.diff(np.concatenate([[0], row.astype(int), [0]])))
        for start, stop in zip(edges[::2], edges[1::2]):
            yield y, int(start), int(stop) - 1


def brush_drawing(digit: np.ndarray, cell: float, at: tuple[float, float], brush: int = 20) -> Image.Image:
    """The digit traced with the demo page's round 20-px brush on its white 280x280 pad, each
    digit pixel `cell` pad pixels, its top-left corner at `at` (x, y)."""
    from PIL import ImageDraw

    pad = Image.new("L", (280, 280), 255)
    draw = ImageDraw.Draw(pad)
    for y, x0, x1 in ink_runs(digit):
        ends = [(at[0] + (x + 0.5) * cell, at[1] + (y + 0.5) * cell) for x in (x0, x1)]
        draw.line(ends, fill=0, width=brush)
        for cx, cy in ends:
            draw.ellipse([cx - brush / 2, cy - brush / 2, cx + brush / 2, cy + brush / 2], fill=0)
    return pad


def shifted_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Mean abs difference (grey levels) at the best alignment within one pixel: centring rounds to
    whole pixels, so a resampled copy may land one pixel off. Different digits differ by ~50."""
    a, b = a.astype(float), b.astype(float)
    return min(np.abs(np.roll(a, (dy, dx), (0, 1)) - b).mean() for dy in (-1, 0, 1) for dx in (-1, 0, 1))


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    rows, cols = np.indices(image.shape)
    mass = image.sum()
    return (rows * image).sum() / mass, (cols * image).sum() / mass


def test_mnist_digit_is_left_as_it_was(held_out):
    images, _ = held_out
    diffs = [np.abs(mnist_style(Image.fromarray(d)).image.astype(int) - d).mean() for d in images[:100]]
    assert np.mean(diffs) < 1.0  # grey levels: the real digits already are what the function makes


@pytest.mark.parametrize("scale, canvas, at, invert", [
    (1.0, (120, 90), (70, 5), False),  # shifted into a corner
    (4.0, (200, 300), (40, 150), False),  # large, off-centre
    (0.8, (60, 60), (2, 30), False),  # small
    (2.5, (150, 150), (20, 60), True),  # dark on light
])
def test_shifted_scaled_inverted_digits_give_the_same_image(held_out, scale, canvas, at, invert):
    images, _ = held_out
    diffs = []
    for digit in images[:20]:
        reference = mnist_style(Image.fromarray(digit))
        variant = mnist_style(place(digit, scale, canvas, at, invert))
        assert variant.inverted == invert and not variant.empty
        diffs.append(shifted_difference(variant.image, reference.image))
        rows = np.flatnonzero(variant.image.max(1) > 0)
        cols = np.flatnonzero(variant.image.max(0) > 0)
        assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 in (DIGIT_BOX - 1, DIGIT_BOX, DIGIT_BOX + 1)
        assert np.allclose(centre_of_mass(variant.image.astype(float)), 14.0, atol=0.6)
    assert max(diffs) < 18 and np.mean(diffs) < 10, diffs


def test_paper_noise_and_shading_are_not_ink(held_out):
    images, _ = held_out
    rng = np.random.default_rng(1)
    for digit in images[:10]:
        prepared = mnist_style(photo_of(digit, rng))
        clean = mnist_style(Image.fromarray(digit))
        assert prepared.inverted
        assert shifted_difference(prepared.image, clean.image) < 18


def test_pretrained_model_reads_transformed_held_out_digits(held_out):
    from convzoo.infer import Predictor

    predictor = Predictor("digits")
    images, labels = held_out
    rng = np.random.default_rng(0)
    batch = np.stack([predictor.preprocess(random_variant(d, rng)) for d in images[:200]])
    accuracy = (predictor.probabilities(batch).argmax(1).numpy() == labels[:200]).mean()
    assert accuracy >= 0.95, accuracy


@pytest.mark.parametrize("cell, at", [(9.5, (0, 5)), (6, (100, 100)), (4.5, (10, 150))])
def test_drawings_large_or_small_read_like_centred_ones(held_out, cell, at):
    """A fixed brush makes a small drawing bold and a large one thin; strokes are evened out."""
    from convzoo.infer import Predictor

    predictor = Predictor("digits")
    images, labels = held_out
    batch = np.stack([predictor.preprocess(brush_drawing(d, cell, at)) for d in images[:100]])
    accuracy = (predictor.probabilities(batch).argmax(1).numpy() == labels[:100]).mean()
    assert accuracy >= 0.95, accuracy


def test_predict_cli_reads_photos_of_digits(held_out, tmp_path, capsys):
    images, labels = held_out
    rng = np.random.default_rng(2)
    paths = []
    for i in range(8):
        path = tmp_path / f"photo-{i}-label-{labels[i]}.jpg"
        photo_of(images[i], rng).save(path, quality=80)
        paths.append(str(path))
    assert main(["predict", "digits", *paths, "--top-k", "2", "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    guesses = [int(r["top"][0]["class"]) for r in results]
    assert sum(g == y for g, y in zip(guesses, labels[:8])) >= 7, (guesses, labels[:8])
    assert all(len(r["top"]) == 2 for r in results)


def test_predict_cli_refuses_non_images(tmp_path, capsys):
    bad = tmp_path / "notes.png"
    bad.write_text("not an image")
    assert main(["predict", "digits", str(bad)]) == 1
    assert "not a PNG or JPEG" in capsys.readouterr().err
    Image.new("L", (8, 8)).save(tmp_path / "x.gif")
    assert main(["predict", "digits", str(tmp_path / "x.gif")]) == 1


def test_blank_picture_is_empty():
    for colour in (0, 255, 128):
        prepared = mnist_style(Image.new("L", (200, 100), colour))
        assert prepared.empty and not prepared.image.any()


def test_transparent_drawing_counts_as_dark_ink_on_white():
    rgba = np.zeros((100, 100, 4), np.uint8)
    rgba[20:80, 45:55] = (0, 0, 0, 255)  # a black bar; the rest transparent
    prepared = mnist_style(Image.fromarray(rgba, "RGBA"))
    assert prepared.inverted and not prepared.empty
    assert prepared.image[4:24, 13:16].min() == 255 and prepared.image.sum() == 255 * 60  # 20x3, centred


def test_background_estimate_ignores_noise():
    rng = np.random.default_rng(0)
    x = np.clip(rng.normal(40, 8, (200, 200)), 0, 255)
    x[50:150, 90:110] = 230
    background, ink = background_and_ink(x.astype(np.uint8))
    assert 55 < background < 100 and ink >= 225


def test_fashion_style_fits_the_whole_field_keeping_aspect():
    img = np.full((300, 200), 255, np.uint8)
    img[50:250, 60:160] = 30  # a dark garment 200 tall, 100 wide, on white
    prepared = fashion_style(Image.fromarray(img))
    rows = np.flatnonzero(prepared.image.max(1) > 64)
    cols = np.flatnonzero(prepared.image.max(0) > 64)
    assert prepared.inverted
    assert rows[0] == 0 and rows[-1] == 27  # longer side 28
    assert 13 <= cols[-1] - cols[0] + 1 <= 15 and abs((cols[0] + cols[-1]) / 2 - 13.5) <= 1  # centred


def test_pixels_from_json_lists():
    grey = image_from_pixels(3, 2, [0, 255, 0, 255, 0, 255])
    assert grey.mode == "L" and grey.size == (3, 2)
    rgba = image_from_pixels(1, 1, [1, 2, 3, 4])
    assert rgba.mode == "RGBA"
    for width, height, pixels in [(2, 2, [0] * 3), (2, 2, [0, 0, 0, 256]), (0, 1, []), (2, 1, [[0], [0]]),
                                  (2, 1, ["a", "b"]), (1.5, 1, [0]), (1, 1, [float("nan")])]:
        with pytest.raises(ConvzooError):
            image_from_pixels(width, height, pixels)
