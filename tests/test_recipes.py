"""The recipes table: every recipe a valid config with its reasons, through the CLI as through Python."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from convzoo.cli import main
from convzoo.models import create_model, model_info
from convzoo.train import TrainConfig
from convzoo.train.recipes import RECIPES

TINY_FASTNET = {"widths": [4, 8, 8]}


# ---- recipes and the CLI -----------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(RECIPES))
def test_recipes_are_valid_configs_with_reasons(name):
    recipe = RECIPES[name]
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    assert set(recipe.settings) <= fields
    assert all(isinstance(why, str) and len(why) > 10 for _, why in recipe.settings.values())
    model_info(recipe.config().model)
    # What `convzoo train --recipe NAME` builds carries every setting, and a flag given wins.
    from convzoo.cli import build_parser
    from convzoo.cli.train import config_from_args

    built = config_from_args(build_parser().parse_args(["train", "--recipe", name, "--epochs", "7"]))
    assert built.epochs == 7
    for key, (value, _) in recipe.settings.items():
        if key != "epochs":
            assert getattr(built, key) == value, key


def test_fastnet_counts_match_its_metadata():
    model = create_model("fastnet", num_classes=10, in_channels=1, input_size=28)
    assert sum(p.numel() for p in model.parameters()) == model_info("fastnet").params
    assert model(torch.randn(2, 1, 28, 28)).shape == (2, 10)


@pytest.mark.slow
def test_train_with_a_recipe_and_an_overriding_flag(capsys, tiny_data_dir, tmp_path):
    out = tmp_path / "fast"
    code = main(["train", "--recipe", "fast", "--epochs", "1", "--lr", "0.05", "--data-dir",
                 str(tiny_data_dir), "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "test accuracy" in printed and str(out) in printed
    config = json.loads((out / "config.json").read_text())["config"]
    fast = RECIPES["fast"].values()
    assert config["model"] == fast["model"] and config["tta"] is True and config["lr"] == 0.05
    assert config["batch_size"] == fast["batch_size"] and config["epochs"] == 1
    row = json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])
    assert "tta_test_acc" in row


def test_recipe_and_resume_do_not_mix(capsys, tiny_run):
    assert main(["train", "--recipe", "fast", "--resume", str(tiny_run)]) == 1
    assert "--recipe cannot change when resuming" in capsys.readouterr().err
