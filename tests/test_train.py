"""Training: a tiny run end to end, exact resume, checkpoints, schedules, evaluation."""

from __future__ import annotations

import contextlib
import itertools
import json
import math

import pytest
import torch

from convzoo.errors import ConvzooError
from convzoo.train import TrainConfig, Trainer, load_checkpoint, model_from_checkpoint
from convzoo.train.metrics import evaluate
from convzoo.train.schedule import lr_factor

METRIC_KEYS = {"epoch", "train_loss", "train_acc", "test_loss", "test_acc", "lr", "seconds"}


def test_tiny_run_learns_and_writes_its_directory(tiny_run):
    files = {p.name for p in tiny_run.iterdir()}
    assert {"config.json", "metrics.jsonl", "curves.png", "checkpoint.pt", "eval.json"} <= files
    assert not [f for f in files if f.startswith(".")]  # no temporary files left behind
    rows = [json.loads(line) for line in (tiny_run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2] and METRIC_KEYS <= set(rows[0])
    assert rows[-1]["test_acc"] > 0.5  # ten classes: chance is 0.1
    assert (tiny_run / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    config = json.loads((tiny_run / "config.json").read_text())
    assert config["model"]["name"] == "lenet_modern" and config["runtime"]["precision"] == "fp32"
    evaluation = json.loads((tiny_run / "eval.json").read_text())
    assert sum(map(sum, evaluation["confusion"])) == 200 and len(evaluation["per_class_accuracy"]) == 10


def test_checkpoint_is_plain_and_carries_model_and_config(tiny_run):
    raw = torch.load(tiny_run / "checkpoint.pt", weights_only=True)  # plain tensors and dicts
    assert raw["format"] == "convzoo-checkpoint" and raw["model"]["name"] == "lenet_modern"
    assert raw["config"]["epochs"] == 2 and raw["data"]["classes"][0] == "T-shirt/top"
    model, payload = model_from_checkpoint(tiny_run)
    assert not model.training
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, payload["state_dict"][name])


def _fit(config, until=None):
    trainer = Trainer(config)
    trainer.fit(until_epoch=until)
    return trainer


@pytest.mark.slow
@pytest.mark.parametrize("augment, precision", [("crop+flip+erase+affine+elastic", "fp32"), ("none", "bf16")])
def test_resume_reproduces_an_uninterrupted_run(tmp_path, tiny_data_dir, augment, precision):
    common = {"model": "lenet_modern", "data": "fashion-mnist", "data_dir": str(tiny_data_dir),
              "epochs": 3, "batch_size": 64, "lr": 0.05, "augment": augment, "precision": precision,
              "schedule": "onecycle", "progress": False, "seed": 5}
    whole = _fit(TrainConfig(**common, out=str(tmp_path / "whole")))
    _fit(TrainConfig(**common, out=str(tmp_path / "parts")), until=1)  # "killed" after epoch 1
    resumed = Trainer.resume(tmp_path / "parts")
    assert resumed.epoch == 1
    resumed.fit()
    for name, tensor in whole.model.state_dict().items():
        assert torch.equal(tensor, resumed.model.state_dict()[name]), name

    def metrics(run):
        rows = [json.loads(r) for r in (tmp_path / run / "metrics.jsonl").read_text().splitlines()]
        return [{k: v for k, v in r.items() if k not in ("seconds", "examples_per_sec")} for r in rows]

    assert metrics("whole") == metrics("parts") and len(metrics("whole")) == 3


def test_a_finished_run_is_not_overwritten(tiny_run, tiny_data_dir):
    with pytest.raises(ConvzooError, match="already holds a run"):
        Trainer(TrainConfig(data_dir=str(tiny_data_dir), out=str(tiny_run), epochs=1)).fit()


def test_not_our_checkpoint(tmp_path):
    bad = tmp_path / "model.pt"
    torch.save({"weights": torch.zeros(2)}, bad)
    with pytest.raises(ConvzooError, match="not a convzoo checkpoint"):
        load_checkpoint(bad)
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(ConvzooError, match="not a convzoo checkpoint"):
        load_checkpoint(tmp_path / "junk.pt")
    with pytest.raises(ConvzooError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "nope")


@pytest.mark.parametrize("field, value", [("optimizer", "lbfgs"), ("schedule", "exp"), ("epochs", 0),
                                          ("lr", -1.0), ("precision", "fp8"), ("label_smoothing", 1.0)])
def test_config_rejects_bad_values(field, value):
    with pytest.raises(ConvzooError, match="--"):
        TrainConfig(**{field: value})


def test_schedules():
    assert lr_factor("constant", 50, 100) == 1
    assert lr_factor("step", 25, 100, step_size=10, gamma=0.5) == 0.25
    assert lr_factor("cosine", 0, 100) == 1 and lr_factor("cosine", 50, 100) == pytest.approx(0.5)
    assert lr_factor("cosine", 100, 100) == 0
    warm = [lr_factor("onecycle", s, 100, warmup_steps=30) for s in range(101)]
    assert warm[0] == pytest.approx(1 / 25) and max(warm) == pytest.approx(1)
    assert warm.index(max(warm)) == 30 and warm[-1] < 1e-4
    assert all(a <= b for a, b in itertools.pairwise(warm[:31]))  # rises, then falls
    assert all(a >= b for a, b in itertools.pairwise(warm[30:]))
    assert math.isclose(lr_factor("cosine", 5, 100, warmup_steps=10), 1 / 25 + (24 / 25) * 0.5)


@pytest.mark.slow
def test_sgd_nesterov_adamw_and_muon_train(tiny_data_dir, tmp_path):
    for opt in ("sgd", "adamw", "muon"):
        trainer = Trainer(TrainConfig(data_dir=str(tiny_data_dir), epochs=1, optimizer=opt, nesterov=True,
                                      lr=0.003 if opt == "adamw" else 0.05, out=str(tmp_path / opt),
                                      precision="fp32", progress=False, label_smoothing=0.1)).prepare()
        before = trainer.evaluate().loss
        trainer.fit()
        assert trainer.evaluate().loss < before
        assert type(trainer.optimizer).__name__ == {"sgd": "MomentumSGD", "adamw": "AdamW", "muon": "MomentumSGD"}[opt]
        assert any(g.get("muon") and g["params"] for g in trainer.optimizer.param_groups) == (opt == "muon")


def test_weight_decay_spares_norms_and_biases(tiny_data_dir):
    trainer = Trainer(TrainConfig(data_dir=str(tiny_data_dir), weight_decay=0.1, progress=False)).prepare()
    decayed = {id(p) for g in trainer.optimizer.param_groups if g["weight_decay"] for p in g["params"]}
    kernels = {id(m.weight) for m in trainer.model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))}
    names = dict(trainer.model.named_parameters())
    assert kernels and decayed == kernels, sorted(n for n, p in names.items() if (id(p) in decayed) != (id(p) in kernels))


def test_evaluation_confusion_matrix():
    class Fixed(torch.nn.Module):
        def forward(self, x):
            return x

    logits = torch.tensor([[2.0, 0, 0], [0, 2.0, 0], [0, 2.0, 0], [0, 0, 2.0]])
    labels = torch.tensor([0, 1, 2, 2])
    result = evaluate(Fixed(), [(logits, labels)], 3, contextlib.nullcontext)
    assert result.accuracy == 0.75
    assert result.confusion.tolist() == [[1, 0, 0], [0, 1, 0], [0, 1, 1]]
    assert result.per_class_accuracy == [1.0, 1.0, 0.5]
