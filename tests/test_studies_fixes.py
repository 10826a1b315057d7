"""The studies' measurement fixes: Holm's correction over a family of pairs, the dropout gap in eval
mode, the activation study's He-init control, scale jittering, and `study vgg --quick` end to end."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch
from torch import nn

from convzoo.experiments import stats
from convzoo.studies import get_study


def test_holm_on_a_known_example():
    # Sorted 0.005, 0.01, 0.03, 0.04 -> x4, x3, x2, x1 = 0.02, 0.03, 0.06, 0.04 -> running max 0.02, 0.03, 0.06, 0.06.
    assert stats.holm_adjust([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert stats.holm_adjust([0.5]) == [0.5]


def test_a_family_re_decides_each_pair_on_its_adjusted_p():
    clear = ([0.80, 0.81, 0.82], [0.90, 0.91, 0.92])
    borderline = ([0.800, 0.810, 0.820], [0.825, 0.835, 0.845])
    alone = stats.compare(*borderline)
    assert alone.distinct and 0.01 < alone.p < 0.05  # real when tested alone
    tested = stats.family({"clear": clear, "borderline": borderline, "null": ([0.8, 0.81, 0.82], [0.81, 0.8, 0.82])})
    assert tested["borderline"].p_holm == pytest.approx(2 * alone.p)  # the second smallest of three: x2
    assert tested["borderline"].distinct is False and tested["clear"].distinct is True
    assert "Holm" in tested["clear"].verdict and "Holm-adjusted" in stats.rule_text(tested.values())


def _measurement(model, images, labels):
    from convzoo.data import ArrayDataset, DataBundle
    from convzoo.studies import Run, Setting
    from convzoo.studies.base import Measurement

    data = ArrayDataset(images, labels, ("a", "b"), (0.0,), (1.0,))
    return Measurement(Run("x", "mlp"), 0, Path("."), model, {}, DataBundle("toy", data, data),
                       Setting(train_size=None, epochs=1))


def test_the_dropout_gap_is_measured_with_dropout_off():
    from convzoo.studies.dropout import measure

    # Class = which of two pixels is bright; a dropout of 0.9 in front of a perfect linear read-out
    # makes most training-mode predictions guesses, so only an eval-mode measurement scores 1.0.
    images = torch.zeros(200, 1, 1, 2, dtype=torch.uint8)
    labels = torch.arange(200) % 2
    images[labels == 0, 0, 0, 0] = 255
    images[labels == 1, 0, 0, 1] = 255
    readout = nn.Linear(2, 2)
    with torch.no_grad():
        readout.weight.copy_(torch.eye(2))
        readout.bias.zero_()
    model = nn.Sequential(nn.Flatten(), nn.Dropout(0.9), readout).train()
    torch.manual_seed(0)
    assert measure(_measurement(model, images, labels))["train_acc_eval"] == 1.0
    assert model.training  # its mode is given back


def test_the_activation_study_has_a_he_init_control_for_the_plain_vgg():
    from convzoo.layers import initialise

    runs = {r.name: r for r in get_study("activation").runs}
    for act in ("sigmoid", "tanh", "relu"):
        he, plain = runs[f"vgg-he-{act}"], runs[f"vgg-{act}"]
        assert he.overrides == {"init": "he"} and he.model == plain.model and he.model_kwargs == plain.model_kwargs
    linear = initialise(nn.Linear(1000, 10), "he")
    assert linear.weight.std().item() == pytest.approx((2 / 1000) ** 0.5, rel=0.1) and linear.bias.abs().max() == 0


def test_scale_jittering_zooms_in_and_keeps_masks_as_labels():
    from convzoo.data.batches import Augment, AugmentDraw, augment_batch

    augment = Augment.parse("scale100")
    assert augment.scale == 1.0 and augment.geometric().scale == 1.0
    images = torch.zeros(8, 1, 28, 28, dtype=torch.uint8)
    images[:, :, 10:18, 10:18] = 200
    draw = AugmentDraw.draw(augment, 8, torch.Generator().manual_seed(0), (1, 28, 28))
    out = augment_batch(images, augment, draw)
    assert out.shape == images.shape and out.dtype == torch.uint8
    assert ((out > 100).sum((1, 2, 3)) > (images > 100).sum((1, 2, 3))).all()  # the square grew in every image
    masks = (images[:, 0] > 0).to(torch.uint8) * 3
    assert set(augment_batch(masks, augment.geometric(), draw).unique().tolist()) <= {0, 3}


@pytest.mark.slow  # twelve tiny trainings
def test_study_vgg_quick_runs_and_its_table_has_every_column(tiny_data_dir, tmp_path, capsys, monkeypatch):
    from convzoo import studies
    from convzoo.cli import main

    tiny = {"train_size": 100, "epochs": 1, "test_size": 50, "batch_size": 50, "seeds": 1, "minutes": 0.1}
    monkeypatch.setattr(studies, "get_study", lambda name: dataclasses.replace(
        get_study(name), quick=dataclasses.replace(get_study(name).quick, **tiny)))
    out = tmp_path / "vgg"
    assert main(["study", "run", "vgg", "--quick", "--data-dir", str(tiny_data_dir), "--out", str(out), "--threads", "1",
                 "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [row[0] for row in result["rows"]] == ["A", "A-LRN", "B", "C", "D", "D-jitter"]
    assert all(len(row) == len(result["columns"]) == 7 for row in result["rows"])
    assert [row[4] for row in result["rows"]] == ["crop"] * 5 + ["scale+crop"]
    for observation in ("LRN does not improve A", "C (1x1 convs added) beats B", "scale jittering"):
        assert observation in result["finding"]
    assert (out / "vgg.png").read_bytes()[:4] == b"\x89PNG"
