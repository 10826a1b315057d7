"""Speed features: bench commands (tables, no timing assertions), EMA, TTA, compile, recipes."""

from __future__ import annotations

import contextlib
import dataclasses
import json

import pytest
import torch

from convzoo.bench.peak import peak_cache_path
from convzoo.bench.timing import machine, percentile
from convzoo.cli import main
from convzoo.errors import ConvzooError
from convzoo.models import create_model, model_info
from convzoo.tables import text_table
from convzoo.train import TrainConfig, Trainer, tune
from convzoo.train.metrics import evaluate_plain_and_tta, predict_logits, shift_images, tta_views
from convzoo.train.optim import WeightEMA
from convzoo.train.recipes import RECIPES

TINY_FASTNET = {"widths": [4, 8, 8]}


@pytest.fixture
def cached_peak():
    """A peak cache for this machine, so `bench train` does not multiply 3072-wide matrices."""
    from convzoo.atomic import write_json

    write_json(peak_cache_path(), {"fp32": 100.0, "bf16": 400.0, "size": 64, **machine()})


def _rows(output: str, first_cell: str) -> list[str]:
    return [line.split() for line in output.splitlines() if line.startswith(first_cell)]


# ---- bench commands --------------------------------------------------------------------------
def test_bench_peak_measures_and_caches(capsys):
    assert main(["bench", "peak", "--size", "64", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "ratio vs fp32" in out and "peak RSS" in out
    cached = json.loads(peak_cache_path().read_text())
    assert cached["fp32"] > 0 and cached["bf16"] > 0 and cached["size"] == 64
    fp32, bf16 = (_rows(out, dtype)[0] for dtype in ("fp32", "bf16"))
    assert fp32[2] == "1.00x"
    assert float(bf16[2].rstrip("x")) == pytest.approx(cached["bf16"] / cached["fp32"], abs=0.01)


def test_bench_train_prints_both_loops_and_their_ratio(capsys, tiny_data_dir, cached_peak):
    code = main(["bench", "train", "lenet_modern", "--steps", "2", "--rounds", "1", "--batch-size", "32",
                 "--data-dir", str(tiny_data_dir)])
    assert code == 0
    out = capsys.readouterr().out
    assert "ratio" in out and "of peak" in out and "peak RSS" in out and "cached" in out
    textbook, *convzoo = _rows(out, "textbook") + _rows(out, "convzoo")
    assert textbook[1] == "fp32" and "1.00x" in textbook and len(convzoo) == 2
    assert convzoo[0][1:3] == ["fp32", "NCHW"]
    # The last row runs the setup the Trainer measured and cached for this model and batch size.
    cached = [v["setup"] for k, v in json.loads((tune.cache_root() / tune.TUNE_CACHE).read_text()).items()
              if json.loads(k)["model"] == "lenet_modern" and json.loads(k)["batch_size"] == 32]
    assert len(cached) == 1
    assert convzoo[1][1:3] == [cached[0]["precision"], "channels_last" if cached[0]["channels_last"] else "NCHW"]

    def rate(row):
        return float(next(c for c in row if c.replace(",", "").isdigit()).replace(",", ""))

    for row in convzoo:
        ratio = float(next(c for c in row if c.endswith("x")).rstrip("x"))
        assert ratio == pytest.approx(rate(row) / rate(textbook), rel=0.02, abs=0.01)


def test_bench_train_rejects_a_batch_larger_than_the_data(capsys, tiny_data_dir, cached_peak):
    assert main(["bench", "train", "lenet_modern", "--batch-size", "5000", "--data-dir", str(tiny_data_dir)]) == 1
    assert "fewer than one batch" in capsys.readouterr().err


def test_bench_infer_prints_percentiles_per_precision(capsys):
    assert main(["bench", "infer", "lenet_modern", "--calls", "3", "--batches", "1", "--batch-size", "4"]) == 0
    out = capsys.readouterr().out
    assert "p50 ms" in out and "p99 ms" in out and "ratio vs fp32" in out and "peak RSS" in out
    fp32, bf16 = _rows(out, "fp32")[0], _rows(out, "bf16")[0]
    assert fp32[-1] == "1.00x" and float(fp32[2]) >= float(fp32[1])  # p99 >= p50
    assert bf16[-1].endswith("x")


def test_bench_data_times_an_epoch_of_batches(capsys, tiny_data_dir):
    assert main(["bench", "data", "--data-dir", str(tiny_data_dir), "--rounds", "1"]) == 0
    out = capsys.readouterr().out
    assert "600 fashion-mnist examples" in out and "speed-up" in out and "peak RSS" in out
    assert "1.00x" in _rows(out, "textbook")[0]
    assert main(["bench", "data", "--data-dir", str(tiny_data_dir), "--augment", "rotate"]) == 1


def test_percentile_and_table():
    samples = [float(v) for v in range(1, 101)]
    assert percentile(samples, 50) == pytest.approx(50.5)
    assert percentile(samples, 99) == pytest.approx(99.01)
    assert percentile([3.0], 99) == 3.0
    lines = text_table(("name", "n"), [("a", "1"), ("longer", "100")]).splitlines()
    assert lines == ["name      n", "a         1", "longer  100"]


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
