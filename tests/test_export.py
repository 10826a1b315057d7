"""Export: ONNX (dynamic batch, checked by onnxruntime), safetensors + config, weights-only
checkpoints with a model card, and the pretrained models that ship in the package."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import require_mnist_10k

from convzoo.cli import main
from convzoo.errors import ConvzooError
from convzoo.export import export, load_safetensors
from convzoo.train import load_checkpoint, model_from_checkpoint
from convzoo.train.checkpoint import PRETRAINED, PRETRAINED_DIR


def logits(model, x):
    with torch.inference_mode():
        return model(x).numpy()


@pytest.mark.slow
def test_onnx_round_trip_with_a_dynamic_batch(tiny_run, tmp_path, capsys):
    import onnx
    import onnxruntime

    out = tmp_path / "tiny.onnx"
    assert main(["export", str(tiny_run), "--format", "onnx", "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert float(printed.split("max abs difference ")[1].split()[0]) <= 1e-4
    model, payload = model_from_checkpoint(tiny_run)
    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    for batch in (1, 7):
        x = torch.randn(batch, 1, 28, 28, generator=torch.Generator().manual_seed(batch))
        (ours,) = session.run(["logits"], {"images": x.numpy()})
        assert ours.shape == (batch, 10)
        assert np.abs(ours - logits(model, x)).max() <= 1e-4
    meta = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert json.loads(meta["convzoo"])["model"] == payload["model"]
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary file left behind


@pytest.mark.slow
def test_onnx_export_that_fails_its_check_writes_nothing(tiny_run, tmp_path, monkeypatch):
    import convzoo.export.onnx as export_module

    monkeypatch.setattr(export_module, "ONNX_TOLERANCE", -1.0)  # no difference can pass
    out = tmp_path / "bad.onnx"
    with pytest.raises(ConvzooError, match="differs from torch"):
        export(tiny_run, "onnx", out)
    assert not out.exists() and not list(tmp_path.iterdir())


def test_safetensors_round_trip(tiny_run, tmp_path, capsys):
    out = tmp_path / "tiny.safetensors"
    assert main(["export", str(tiny_run), "--format", "safetensors", "-o", str(out)]) == 0
    config = json.loads((tmp_path / "tiny.json").read_text())
    model, payload = model_from_checkpoint(tiny_run)
    assert config["model"] == payload["model"] and config["data"]["classes"] == payload["data"]["classes"]
    loaded, _loaded_config = load_safetensors(out)
    x = torch.randn(4, 1, 28, 28)
    assert np.array_equal(logits(loaded, x), logits(model, x))
    (tmp_path / "tiny.json").unlink()  # the file's own metadata carries the config too
    loaded, _ = load_safetensors(out)
    assert np.array_equal(logits(loaded, x), logits(model, x))


def test_safetensors_errors(tmp_path):
    with pytest.raises(ConvzooError, match="no such file"):
        load_safetensors(tmp_path / "missing.safetensors")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x00" * 40)
    with pytest.raises(ConvzooError, match="not a readable"):
        load_safetensors(junk)


def test_weights_only_checkpoint_with_card(tiny_run, tmp_path):
    out = tmp_path / "small.pt"
    command = "convzoo train lenet_modern --epochs 2"
    export(tiny_run, "checkpoint", out, command=command)
    payload = load_checkpoint(out)
    assert "optimizer" not in payload and "rng" not in payload
    assert out.stat().st_size < (tiny_run / "checkpoint.pt").stat().st_size
    card = json.loads((tmp_path / "small.json").read_text())
    assert card["command"] == command and card["parameters"] == 61_932
    assert card["held_out_accuracy"] == payload["history"][-1]["test_acc"]
    model, _ = model_from_checkpoint(out)
    original, _ = model_from_checkpoint(tiny_run)
    x = torch.randn(2, 1, 28, 28)
    assert np.array_equal(logits(model, x), logits(original, x))


def test_export_cli_errors(tmp_path, capsys):
    assert main(["export", str(tmp_path / "nothing"), "--format", "onnx"]) == 1
    assert "no such checkpoint" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["export", "digits", "--format", "tflite"])
    assert exit_info.value.code == 2


@pytest.mark.parametrize("name", list(PRETRAINED))
def test_pretrained_models_ship_small_with_cards(name):
    path = PRETRAINED_DIR / PRETRAINED[name]
    assert path.stat().st_size < 2 * 1024 * 1024
    payload = load_checkpoint(name)
    assert "optimizer" not in payload and "rng" not in payload and "train_state_dict" not in payload
    card = json.loads(path.with_suffix(".json").read_text())
    assert card["command"].startswith("convzoo train ") and card["date"]
    assert card["data"]["name"] == {"digits": "mnist-sample", "fashion": "fashion-mnist", "scenes": "digit-scenes"}[name]
    if name == "digits":
        assert card["held_out_accuracy"] >= 0.99 and card["data"]["test"] == 1000
    if name == "fashion":  # the best recipe's seed 0: its plain and TTA figures, as its run recorded them
        history = payload["history"][-1]
        assert (card["held_out_accuracy"], card["held_out_tta_accuracy"]) == (history["test_acc"],
                                                                              history["tta_test_acc"])
        assert card["held_out_tta_accuracy"] >= 0.945 and card["data"]["test"] == 10_000


@pytest.mark.slow
def test_eval_pretrained_digits_on_its_held_out_digits(capsys):
    """No flags: the checkpoint names the shipped mnist-sample, so a fresh clone evaluates it as is."""
    require_mnist_10k()
    assert main(["eval", "digits", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    card = json.loads((PRETRAINED_DIR / "digits.json").read_text())
    assert result["data"] == "mnist-sample" and result["accuracy"] == pytest.approx(card["held_out_accuracy"])


@pytest.mark.slow  # generates digit-scenes from the shipped digits, then labels its 2,000 test canvases
def test_the_shipped_scenes_model_reproduces_its_card(capsys, monkeypatch, tmp_path):
    """A regression guard for the shipped segmentation weights: the digit-scenes test set, made
    afresh from the recorded generator, gives the card's pixel accuracy and mean IoU, and every
    digit class is found well above chance."""
    require_mnist_10k()
    monkeypatch.setenv("CONVZOO_DATA", str(tmp_path))
    assert main(["data", "get", "digit-scenes"]) == 0
    capsys.readouterr()
    assert main(["eval", "scenes", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    card = json.loads((PRETRAINED_DIR / "scenes.json").read_text())
    assert result["accuracy"] == pytest.approx(card["held_out_accuracy"], abs=1e-4)
    assert result["mean_iou"] == pytest.approx(card["held_out_mean_iou"], abs=1e-4) and result["mean_iou"] > 0.6
    assert min(result["per_class_iou"].values()) > 0.3  # chance for a digit's pixels is near 0


def test_a_card_of_a_checkpoint_without_its_test_count_says_so():
    from convzoo.export.card import held_out_description

    assert held_out_description({}, {"name": "fashion-mnist"}) == "fashion-mnist's test set (size not recorded)"
    assert held_out_description({"test_holdout": 0.1, "seed": 3}, {"name": "mnist-sample", "test": 1000}) == (
        "1,000 examples of mnist-sample's training files held out (seed 3), never trained on")
