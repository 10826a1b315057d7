"""`auto` precision and memory format (train/tune.py): candidates, measurement, cache, and that
measuring leaves a run's randomness and its resumed continuation untouched."""

from __future__ import annotations

import json

import pytest
import torch

from convzoo import timing
from convzoo.models import create_model
from convzoo.train import TrainConfig, Trainer, modelsetup, tune
from convzoo.train.tune import Setup, candidate_setups, fastest_setup, time_setups


@pytest.mark.parametrize("precision, channels_last, fast_bf16, expected", [
    ("auto", None, True, [("fp32", False), ("fp32", True), ("bf16", False), ("bf16", True)]),
    ("auto", None, False, [("fp32", False), ("fp32", True)]),
    ("auto", True, True, [("fp32", True), ("bf16", True)]),
    ("bf16", None, False, [("bf16", False), ("bf16", True)]),  # asked for explicitly: tried even if emulated
    ("fp32", False, True, [("fp32", False)]),
])
def test_candidates_are_what_the_settings_leave_open(precision, channels_last, fast_bf16, expected):
    assert candidate_setups(precision, channels_last, fast_bf16) == [Setup(p, c) for p, c in expected]


def _build():
    return create_model("lenet_modern", num_classes=10, in_channels=1, input_size=(28, 28))


def test_time_setups_measures_every_candidate():
    setups = candidate_setups("fp32", None, False)
    times = time_setups(_build, (1, 28, 28), 10, 16, setups, budget_s=0.05, rounds=2)
    assert set(times) == set(setups) and all(ms > 0 for ms in times.values())


@pytest.mark.parametrize("budget_s, timed_calls_per_setup", [(1e-9, 1), (60.0, 3)])
def test_a_model_slower_than_the_budget_gets_one_timed_round(monkeypatch, budget_s, timed_calls_per_setup):
    calls = []
    def fake_seconds(step, calls_=1):
        calls.append(calls_)
        return 0.01 * calls_

    monkeypatch.setattr(tune, "seconds_of", fake_seconds)  # the warm-ups
    monkeypatch.setattr(timing, "seconds_of", fake_seconds)  # the alternating rounds
    setups = candidate_setups("fp32", None, False)
    time_setups(_build, (1, 28, 28), 10, 4, setups, budget_s=budget_s, rounds=3)
    assert len(calls) == len(setups) * (1 + timed_calls_per_setup)  # one warm-up each, then the rounds


def test_fastest_setup_picks_the_minimum_and_caches_it(monkeypatch, tmp_path):
    monkeypatch.setattr(tune, "cache_root", lambda: tmp_path)  # an empty cache of its own
    setups = candidate_setups("auto", None, True)
    measured = {s: 10.0 + i for i, s in enumerate(setups)}
    measured[Setup("bf16", False)] = 1.0
    calls, lines = [], []
    monkeypatch.setattr(tune, "time_setups", lambda *a, **k: calls.append(1) or measured)
    key = {"model": "lenet_modern", "model_kwargs": {}}
    first = fastest_setup(key, _build, (1, 28, 28), 10, 32, setups, log=lines.append)
    again = fastest_setup(key, _build, (1, 28, 28), 10, 32, setups, log=lines.append)
    assert first == again == Setup("bf16", False) and len(calls) == 1  # the second answer is the cache's
    assert "timing 4 setups" in lines[0] and "bf16 NCHW" in lines[1] and "cached in" in lines[1]
    other_batch = fastest_setup(key, _build, (1, 28, 28), 10, 64, setups, log=lines.append)
    assert other_batch == Setup("bf16", False) and len(calls) == 2  # another batch size is measured anew
    cached = json.loads((tmp_path / tune.TUNE_CACHE).read_text())
    assert len(cached) == 2 and all(v["setup"] == {"precision": "bf16", "channels_last": False}
                                    for v in cached.values())


def test_an_unwritable_cache_costs_a_note_not_the_run(monkeypatch, tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("")
    monkeypatch.setattr(tune, "cache_root", lambda: blocked / "sub")  # a directory under a file: not creatable
    monkeypatch.setattr(tune, "time_setups", lambda *a, **k: {Setup("fp32", False): 2.0, Setup("fp32", True): 1.0})
    lines = []
    best = fastest_setup({"model": "x"}, _build, (1, 28, 28), 10, 8, candidate_setups("fp32", None, False),
                         log=lines.append)
    assert best == Setup("fp32", True) and "could not cache" in lines[-1]


def test_a_single_candidate_is_not_measured(monkeypatch):
    monkeypatch.setattr(tune, "time_setups", lambda *a, **k: pytest.fail("measured"))
    only = [Setup("fp32", True)]
    assert fastest_setup({"model": "x"}, _build, (1, 28, 28), 10, 8, only) == only[0]


def _config(tmp_path, data_dir, name, **overrides):
    return TrainConfig(model="lenet_modern", data="fashion-mnist", data_dir=str(data_dir), epochs=2,
                       batch_size=64, lr=0.05, precision="fp32", out=str(tmp_path / name), progress=False,
                       **overrides)


@pytest.mark.slow
def test_auto_layout_leaves_the_run_as_if_chosen_by_hand(tmp_path, tiny_data_dir):
    auto = Trainer(_config(tmp_path, tiny_data_dir, "auto", channels_last=None)).prepare()
    chosen = auto.setup.channels_last
    auto.fit()
    by_hand = Trainer(_config(tmp_path, tiny_data_dir, "hand", channels_last=chosen))
    by_hand.fit()
    assert auto.history[-1]["train_loss"] == by_hand.history[-1]["train_loss"]
    for a, b in zip(auto.model.state_dict().values(), by_hand.model.state_dict().values()):
        assert torch.equal(a, b)
    saved = json.loads((tmp_path / "auto" / "config.json").read_text())
    assert saved["config"]["channels_last"] is None and saved["runtime"]["channels_last"] == chosen


@pytest.mark.slow
def test_resume_keeps_the_setup_the_run_was_measured_to_need(tmp_path, tiny_data_dir, monkeypatch):
    run = Trainer(_config(tmp_path, tiny_data_dir, "run", channels_last=None)).prepare()
    chosen = run.setup
    run.fit(until_epoch=1)
    # Whatever the cache says now (another measurement, another machine), the run keeps its setup.
    def another(key, build, shape, classes, batch, setups, log, task):
        return next((s for s in setups if s != chosen), setups[0])

    monkeypatch.setattr(modelsetup, "fastest_setup", another)
    resumed = Trainer.resume(tmp_path / "run")
    assert resumed.setup == chosen and resumed.config.channels_last == chosen.channels_last
