"""The lectures' MNIST table by its own methods: deskewing, the image distortion model, the 45
pairwise classifiers, Haar features, AdaBoost stumps, width normalisation, elastic distortion, and
`convzoo compare --quick` end to end (src/convzoo/baselines/, src/convzoo/data/elastic.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from convzoo.baselines.features import deskew, skew, width_normalise
from convzoo.baselines.haar import feature_specs, haar_features, rectangles
from convzoo.baselines.idm import idm_distances
from convzoo.data import Augment, load_dataset
from convzoo.data.batches import AugmentDraw, augment_batch


@pytest.fixture(scope="module")
def digits():
    bundle = load_dataset("mnist-sample")
    return bundle.train.images[:200, 0].numpy(), bundle.train.labels[:200].numpy()


def test_deskewing_straightens_a_sheared_digit(digits):
    from scipy.ndimage import affine_transform

    images, _ = digits
    digit = images[int(np.argmin([abs(skew(im)) for im in images]))]  # the most upright of them
    sheared = affine_transform(digit.astype(float), np.array([[1.0, 0.0], [-0.5, 1.0]]), offset=(0, 7), order=1)
    assert abs(skew(sheared) - skew(digit)) > 0.4
    straight = deskew(sheared[None].astype(np.uint8))[0]
    assert abs(skew(straight)) < 0.05
    upright = deskew(digit[None])[0]
    assert np.corrcoef(straight.ravel(), upright.ravel())[0, 1] > 0.9  # the same digit again


def test_idm_is_zero_for_identical_images_and_at_most_euclidean():
    generator = torch.Generator().manual_seed(0)
    query = torch.rand((4, 2, 28, 28), generator=generator)
    refs = torch.rand((4, 6, 2, 28, 28), generator=generator)
    assert torch.equal(idm_distances(query, query[:, None]), torch.zeros(4, 1))
    euclidean = (refs - query[:, None]).square().sum((2, 3, 4))
    idm = idm_distances(query, refs)
    assert (idm <= euclidean + 1e-4).all() and (idm < 0.9 * euclidean).all()  # the warps find closer pixels
    shifted = torch.roll(query, 1, dims=-1)  # a one-pixel shift costs IDM far less than Euclidean
    ratio = idm_distances(query, shifted[:, None]) / (shifted - query).square().sum((1, 2, 3))[:, None]
    assert (ratio < 0.2).all()


def test_pairwise_linear_has_45_classifiers(digits):
    from convzoo.baselines.table_methods import pairwise_linear

    images, labels = digits
    fitted = pairwise_linear(images[:150], labels[:150], images[150:])
    assert fitted.details.startswith("45 pairwise classifiers")
    assert fitted.stored == 45 * (28 * 28 + 1)
    assert (fitted.predicted == labels[150:]).mean() > 0.5


def test_haar_features_of_a_known_image():
    image = np.zeros((1, 28, 28), np.uint8)
    image[0, :, :14] = 255  # left half white
    specs = feature_specs()
    features = haar_features(image, specs)
    edge = specs.index(("two-h", 0, 8, 12, 12))  # columns 8-13 (white) minus 14-19 (black), 12 rows
    assert features[0, edge] == pytest.approx(12 * 6)
    assert features[0, specs.index(("two-v", 0, 8, 12, 12))] == pytest.approx(0)  # top and bottom alike
    assert features[0, specs.index(("three-h", 0, 8, 12, 12))] == pytest.approx(12 * 4 - 12 * 2)  # sides - middle
    random = np.random.default_rng(0).integers(0, 256, (2, 28, 28)).astype(np.uint8)
    got = haar_features(random, specs)
    for j in (0, 333, len(specs) - 1):  # the integral-image sums equal direct sums over the rectangles
        direct = sum(w * random[:, t:t + h, l:l + v].sum((1, 2)) / 255 for t, l, h, v, w in rectangles(*specs[j]))
        assert got[:, j] == pytest.approx(direct, rel=1e-5)


def test_boosted_stumps_learn_a_threshold_rule():
    from convzoo.baselines.boosting import fit_stumps

    x = np.random.default_rng(1).normal(size=(400, 5)).astype(np.float32)
    y = (x[:, 2] > 0.3).astype(int) + (x[:, 4] > 0).astype(int)  # three classes from two thresholds
    model = fit_stumps(x, y, 20, classes=3)
    assert set(model.features[:2]) == {2, 4}  # the two informative features first
    assert (model.predict(x) == y).mean() > 0.9


def test_width_normalisation_sets_the_ink_width(digits):
    images, _ = digits
    for width in (10, 20):
        out = width_normalise(images[:20], width)
        widths = [np.ptp(np.nonzero(im.any(0))[0]) + 1 for im in out]
        assert all(abs(w - width) <= 1 for w in widths)
    assert width_normalise(images[:3], 0) is images[:3] or np.array_equal(width_normalise(images[:3], 0), images[:3])


def test_elastic_keeps_shape_and_range_and_is_seeded(digits):
    images = torch.from_numpy(digits[0][:64])[:, None]
    augment = Augment.parse("elastic")
    assert augment == Augment(elastic=True) and Augment.parse("affine+elastic") == Augment(elastic=True, affine=True)

    def distorted(seed):
        return augment_batch(images, augment, AugmentDraw.draw(augment, 64, torch.Generator().manual_seed(seed),
                                                               (1, 28, 28)))

    out = distorted(0)
    assert out.shape == images.shape and out.dtype == torch.uint8
    assert torch.equal(out, distorted(0)) and not torch.equal(out, distorted(1))
    changed = (out.float() - images.float()).abs().mean((1, 2, 3))
    assert (changed > 1).all()  # every digit moved ...
    ink = out.float().sum((1, 2, 3)) / images.float().sum((1, 2, 3))
    # ... and kept its ink: a distortion stretches strokes here and squeezes them there, not a smear
    assert ((ink > 0.6) & (ink < 1.5)).all() and 0.9 < ink.mean() < 1.1
    corr = torch.nn.functional.cosine_similarity(out.flatten(1).float(), images.flatten(1).float())
    assert corr.mean() > 0.6  # still the same digit shape


@pytest.mark.slow
def test_compare_quick_runs_end_to_end_and_resumes(tmp_path, monkeypatch):
    from convzoo.baselines import compare as comparing
    from convzoo.baselines.compare_rows import ROWS
    from convzoo.train import Trainer

    out = tmp_path / "cmp"
    result = comparing.compare("mnist-sample", quick=True, train_size=500, epochs=1, out=out, log=lambda m: None)
    assert [r["row"] for r in result.rows] == [r.key for r in ROWS if r.quick]
    by_row = {r["row"]: r for r in result.rows}
    assert by_row["pca-quadratic"]["note"].startswith("failed: pca-quadratic cannot be fitted")  # 50 a class
    for key in ("pairwise-linear", "mlp", "mlp-elastic", "committee-mcdnn"):
        row = by_row[key]
        assert 0 <= row["error_percent"] <= 100 and row["params"] > 0 and row["published_error_percent"] > 0
    assert by_row["committee-mcdnn"]["runs"] == 3 and by_row["committee-mcdnn"]["method"].startswith("committee of 3")
    assert by_row["pairwise-linear"]["error_percent"] < 30
    table = (out / "compare.md").read_text()
    assert table.count("\n| ") == len(result.rows) + 1 and "| failed |" in table
    assert result.to_markdown() in table  # compare.md holds the Markdown the result gives Python
    assert result._repr_html_().count("<tr>") == len(result.rows) + 1  # what a notebook shows
    assert {p.name for p in out.iterdir()} >= {"compare.md", "compare.json", "compare.png", "distortions.png"}

    def no_training(*args, **kwargs):
        raise AssertionError("a finished comparison trains nothing again")

    monkeypatch.setattr(Trainer, "fit", no_training)
    again = comparing.compare("mnist-sample", quick=True, train_size=500, epochs=1, out=out, log=lambda m: None)
    assert [r["error_percent"] for r in again.rows] == [r["error_percent"] for r in result.rows]
