"""The patch-whitening first layer: its filters decorrelate patches, and the Trainer fits and freezes them."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from convzoo.layers import whitening_filters
from convzoo.models import create_model


def _correlated_images(n=400, size=12, seed=0):
    """Smooth random images: neighbouring pixels strongly correlated, as in photographs."""
    g = torch.Generator().manual_seed(seed)
    noise = torch.randn(n, 1, size + 4, size + 4, generator=g)
    return nn.functional.avg_pool2d(noise, 5, stride=1) * 3 + 1


def test_whitened_patches_have_identity_covariance():
    images = _correlated_images()
    filters = whitening_filters(images, kernel=3, directions=6, eps=0.0)
    assert filters.shape == (12, 1, 3, 3) and torch.allclose(filters[6:], -filters[:6])
    patches = nn.functional.unfold(images, 3).transpose(1, 2).reshape(-1, 9)
    raw = patches.T @ patches / len(patches)
    assert raw[0, 1] / raw[0, 0] > 0.5  # the input is far from white
    responses = patches @ filters[:6].reshape(6, 9).T
    covariance = responses.T @ responses / len(responses)
    assert torch.allclose(covariance, torch.eye(6), atol=1e-3)


def test_whitening_takes_at_most_the_patch_dimensions():
    with pytest.raises(ValueError, match="has 9 directions, not 10"):
        whitening_filters(torch.randn(4, 1, 8, 8), kernel=3, directions=10)


@pytest.mark.slow
def test_the_trainer_fits_fastnets_whitened_stem_and_keeps_it_frozen(tiny_data_dir, tmp_path):
    from convzoo.train import TrainConfig, Trainer

    config = TrainConfig(model="fastnet", model_kwargs={"widths": [8, 8, 8], "whiten": True}, data_dir=str(tiny_data_dir),
                         epochs=1, batch_size=64, precision="fp32", progress=False, out=str(tmp_path / "w"))
    trainer = Trainer(config).prepare()
    stem = trainer.model.stem[0].weight
    fitted = stem.detach().clone()
    assert not stem.requires_grad and torch.allclose(fitted[4:], -fitted[:4])  # both signs of 4 directions
    assert all(p is not stem for group in trainer.optimizer.param_groups for p in group["params"])
    unfitted = create_model("fastnet", num_classes=10, in_channels=1, input_size=(28, 28), widths=[8, 8, 8],
                            whiten=True).stem[0].weight
    assert not torch.allclose(fitted, unfitted)  # fitted to the data, not left at its initialisation
    trainer.fit()
    assert torch.equal(trainer.model.stem[0].weight, fitted)  # frozen through training


@pytest.mark.parametrize("stem", [24, 15])
def test_a_whitened_stem_too_wide_or_odd_is_refused_in_one_line(capsys, stem):
    from helpers import run_cli

    code, _, err = run_cli(capsys, "train", "fastnet", "--data", "mnist-sample", "--model-arg", "whiten=true",
                           "--model-arg", f"widths={stem},32,64", "--epochs", "1")
    assert code == 1 and "a whitened stem is an even width of at most 18" in err and f"not {stem}" in err
    assert len(err.strip().splitlines()) == 1
    assert create_model("fastnet", widths=(18, 32, 64), whiten=True).stem[0].out_channels == 18
