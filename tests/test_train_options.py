"""The engine's options for speed and accuracy: test-time augmentation, the moving average of the
weights (EMA), torch.compile, and resuming with them."""

from __future__ import annotations

import contextlib
import dataclasses
import json

import pytest
import torch

from convzoo.errors import ConvzooError
from convzoo.train import TrainConfig, Trainer
from convzoo.train.metrics import evaluate_plain_and_tta, predict_logits, shift_images, tta_views
from convzoo.train.optim import WeightEMA

TINY_FASTNET = {"widths": [4, 8, 8]}


# ---- TTA -------------------------------------------------------------------------------------
def test_shift_moves_content_and_fills_the_border():
    x = torch.zeros(1, 1, 4, 4)
    x[0, 0, 1, 2] = 5.0
    fill = torch.full((1, 1, 1, 1), -1.0)
    moved = shift_images(x, 1, -1, fill)  # down 1, left 1
    assert moved[0, 0, 2, 1] == 5.0 and moved[0, 0].sum() == 5.0 - 7  # 7 uncovered pixels filled
    assert torch.equal(moved[0, 0, 0], torch.full((4,), -1.0))  # the top row came from outside
    assert torch.equal(moved[0, 0, :, 3], torch.full((4,), -1.0))  # so did the right column


def test_tta_views_are_identity_flip_and_shifts():
    x = torch.randn(2, 1, 6, 6)
    fill = torch.zeros(1, 1, 1, 1)
    views = tta_views(x, flip=True, fill=fill)
    assert len(views) == 6 and torch.equal(views[0], x) and torch.equal(views[1], x.flip(-1))
    assert torch.equal(views[2], shift_images(x, -1, -1, fill))
    assert torch.equal(views[5], shift_images(x.flip(-1), 1, 1, fill))
    assert len(tta_views(x, flip=False, fill=fill)) == 3  # digits: no mirror image
    assert len(tta_views(x, flip=True, fill=fill, shift=0)) == 2  # trained without shifts


def test_tta_logits_average_the_views():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(36, 3))
    batches = [(torch.randn(4, 1, 6, 6), torch.tensor([0, 1, 2, 0])) for _ in range(2)]
    fill = torch.full((1, 1, 1, 1), -0.5)

    def views(x):
        return tta_views(x, flip=True, fill=fill)

    logits, labels = predict_logits(model, batches, contextlib.nullcontext, views)
    with torch.no_grad():
        expected = torch.cat([torch.stack([model(v) for v in views(x)]).mean(0) for x, _ in batches])
        plain = torch.cat([model(x) for x, _ in batches])
    assert torch.allclose(logits, expected, atol=1e-6) and not torch.allclose(logits, plain, atol=1e-3)
    assert labels.tolist() == [0, 1, 2, 0] * 2
    plain_eval, tta_eval = evaluate_plain_and_tta(model, batches, 3, contextlib.nullcontext, views)
    assert plain_eval.loss == pytest.approx(torch.nn.functional.cross_entropy(plain, labels).item(), abs=1e-6)
    assert tta_eval.loss == pytest.approx(torch.nn.functional.cross_entropy(expected, labels).item(), abs=1e-6)
    assert tta_eval.loss != pytest.approx(plain_eval.loss, abs=1e-4)


# ---- EMA, compile, resume ----------------------------------------------------------------------
def _config(tiny_data_dir, tmp_path, name, **changes):
    base = TrainConfig(model="fastnet", model_kwargs=TINY_FASTNET, data="fashion-mnist",
                       data_dir=str(tiny_data_dir), epochs=2, batch_size=64, lr=0.05, precision="fp32",
                       schedule="onecycle", augment="crop+flip", progress=False, seed=3, out=str(tmp_path / name))
    return dataclasses.replace(base, **changes)


def test_ema_update_follows_the_warmed_up_decay():
    model = torch.nn.Linear(2, 2)
    ema = WeightEMA(model, decay=0.9)
    start = ema.model.weight.clone()
    with torch.no_grad():
        model.weight.add_(1.0)
    ema.update(step=0)  # warm-up: decay = min(0.9, 1/10) = 0.1
    assert torch.allclose(ema.model.weight, start + 0.9)
    ema.update(step=1000)  # decay 0.9: moves 10% of the remaining 0.1
    assert torch.allclose(ema.model.weight, start + 0.91)
    assert not ema.model.weight.requires_grad


@pytest.mark.slow
def test_resume_is_exact_with_ema_and_saves_the_average(tiny_data_dir, tmp_path):
    whole = Trainer(_config(tiny_data_dir, tmp_path, "whole", ema=0.99))
    whole.fit()
    Trainer(_config(tiny_data_dir, tmp_path, "parts", ema=0.99)).fit(until_epoch=1)
    resumed = Trainer.resume(tmp_path / "parts")
    resumed.fit()
    for a, b in ((whole.model, resumed.model), (whole.ema.model, resumed.ema.model)):
        for (name, x), y in zip(a.state_dict().items(), b.state_dict().values()):
            assert torch.equal(x, y), name
    payload = torch.load(tmp_path / "whole" / "checkpoint.pt", weights_only=True)
    weight = "stem.0.weight"
    assert torch.equal(payload["state_dict"][weight], whole.ema.model.state_dict()[weight])
    assert torch.equal(payload["train_state_dict"][weight], whole.model.state_dict()[weight])
    assert not torch.equal(payload["state_dict"][weight], payload["train_state_dict"][weight])


@pytest.mark.slow
def test_tta_final_evaluation_is_reported_and_saved(tiny_data_dir, tmp_path):
    trainer = Trainer(_config(tiny_data_dir, tmp_path, "tta", epochs=1, tta=True))
    result = trainer.fit()
    row = trainer.history[-1]
    assert {"test_acc", "tta_test_acc", "tta_test_loss", "seconds", "examples_per_sec"} <= set(row)
    assert result["test_acc"] == row["tta_test_acc"]
    saved = json.loads((tmp_path / "tta" / "eval.json").read_text())
    assert saved["accuracy"] == row["tta_test_acc"]
    # The last epoch's plain and TTA results come from one pass; each equals its own evaluation.
    plain, tta = trainer.evaluate(), trainer.evaluate(tta=True)
    assert (plain.accuracy, plain.loss) == (row["test_acc"], row["test_loss"])
    assert (tta.accuracy, tta.loss) == (row["tta_test_acc"], row["tta_test_loss"])
    x = torch.zeros(1, 1, 28, 28)
    assert len(trainer.tta_views(x)) == 6  # trained with crop+flip: the same views at test time
    for augment, count in (("flip", 2), ("crop", 3), ("none", 2)):
        other = Trainer(_config(tiny_data_dir, tmp_path, augment, epochs=1, tta=True, augment=augment)).prepare()
        assert len(other.tta_views(x)) == count, augment


@pytest.mark.slow
def test_compile_times_its_first_step_and_keeps_plain_checkpoint_keys(tiny_data_dir, tmp_path, monkeypatch,
                                                                     capsys):
    real_compile = torch.compile
    # The eager backend traces with dynamo but skips inductor's C++ build (minutes on 2 cores).
    monkeypatch.setattr(torch, "compile", lambda model: real_compile(model, backend="eager"))
    trainer = Trainer(_config(tiny_data_dir, tmp_path, "compiled", epochs=1, compile=True))
    trainer.fit()
    assert trainer.step_model is not trainer.model and trainer.compile_seconds > 0
    assert trainer.history[0]["compile_seconds"] == trainer.compile_seconds
    assert "compile: " in capsys.readouterr().out
    payload = torch.load(tmp_path / "compiled" / "checkpoint.pt", weights_only=True)
    assert set(payload["state_dict"]) == set(trainer.model.state_dict())  # no "_orig_mod." prefix


def test_compile_failure_is_a_one_line_error(tiny_data_dir, tmp_path, monkeypatch):
    def broken(model):
        def fail(*args):
            raise RuntimeError("InvalidCxxCompiler: No working C++ compiler found\nlong details")
        return fail

    monkeypatch.setattr(torch, "compile", broken)
    trainer = Trainer(_config(tiny_data_dir, tmp_path, "broken", epochs=1, compile=True))
    with pytest.raises(ConvzooError, match="--compile failed on this machine .*No working C"):
        trainer.fit()


def test_ema_must_be_a_decay():
    with pytest.raises(ConvzooError, match="--ema"):
        TrainConfig(ema=1.0)


# ---- progressive resizing --------------------------------------------------------------------
@pytest.mark.slow
def test_progressive_resizing_trains_small_first_and_full_size_last(tiny_data_dir, tmp_path):
    # Batch 16 (111 steps): at the default 64 (27 steps) this tiny net's accuracy after a half-size
    # epoch was chaotic (0.035-0.525 over seeds and memory formats); here seeds 0-5 end at 0.51-0.57.
    trainer = Trainer(_config(tiny_data_dir, tmp_path, "progressive", epochs=3, progressive=0.5, batch_size=16,
                              channels_last=False))
    trainer.prepare()
    seen: dict[int, set] = {}
    trainer.model.register_forward_pre_hook(
        lambda module, args: seen.setdefault(trainer.epoch, set()).add(tuple(args[0].shape[-2:])))
    trainer.fit()
    # Training batches shrink in the first epochs (evaluation stays at 28x28); the last epoch is full size.
    assert seen[0] == {(14, 14), (28, 28)} and seen[1] == {(21, 21), (28, 28)} and seen[2] == {(28, 28)}
    assert trainer.history[-1]["test_acc"] > 0.3  # it learns (chance is 0.1 on the 200 test images)


def test_progressive_resizing_below_what_the_model_takes_is_a_one_line_error(tiny_data_dir, tmp_path):
    trainer = Trainer(_config(tiny_data_dir, tmp_path, "bad", model="lenet", model_kwargs={}, progressive=0.2))
    with pytest.raises(ConvzooError, match="lenet cannot take the first epoch's 6x6 images"):
        trainer.prepare()
