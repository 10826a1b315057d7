"""`convzoo bench race`: both curves, full-test-set finals, the crossing rule, the paused clock, the
figure, --json and bad input. Tiny data and tiny recipes; no wall-clock speed is asserted."""

from __future__ import annotations

import itertools
import json
import time

import pytest
import torch
from helpers import run_cli

from convzoo.bench.race import Point, first_crossing, race
from convzoo.bench.textbook import TextbookLoop, TextbookRecipe
from convzoo.cli.bench_race import report
from convzoo.data import Normalizer, load_dataset
from convzoo.timing import PausableClock
from convzoo.train import Trainer
from convzoo.train.recipes import RECIPES, Recipe

SLOW = 0.1  # seconds added to every slice evaluation by the slow evaluator
SLOW_EPOCH_TEST = 0.5  # seconds added to the textbook's own test evaluation after each epoch
SLICE = 100
EVERY = 3  # steps between points: 10 textbook steps, 18 convzoo steps
# A textbook that learns the synthetic bars a little in one epoch, so the target is above chance,
# and a convzoo recipe that learns them fully: the crossing falls inside the run.
TEXTBOOK = TextbookRecipe(lr=0.05, batch_size=64, model_kwargs={"activation": "relu", "pooling": "max"})
CONVZOO = {"model": "lenet_modern", "model_kwargs": {}, "augment": "none", "batch_size": 32, "epochs": 1, "lr": 0.05,
           "precision": "fp32", "tta": False}


@pytest.fixture(scope="module")
def raced(tiny_data_dir, tmp_path_factory):
    """One race on the tiny data with deliberately slow slice evaluations: (result, wall seconds,
    seconds slept while evaluating)."""
    slept = []

    def slow(evaluate):
        def wrapper(self, data=None, *args, **kwargs):
            if _is_slice(data):
                time.sleep(SLOW)
                slept.append(SLOW)
            return evaluate(self, data, *args, **kwargs)
        return wrapper

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(tmp_path_factory.getbasetemp() / "home"))
        patch.setattr(TextbookLoop, "accuracy", slow(TextbookLoop.accuracy))
        patch.setattr(TextbookLoop, "test_accuracy", slow_epoch_test(TextbookLoop.test_accuracy))
        patch.setattr(Trainer, "evaluate", slow(Trainer.evaluate))
        started = time.perf_counter()
        result = race(data_dir=str(tiny_data_dir), epochs=1, eval_every=EVERY, slice_size=SLICE, threads=1,
                      textbook=TEXTBOOK, recipe_overrides=CONVZOO, log=lambda _: None)
        wall = time.perf_counter() - started
    return result, wall, sum(slept)


def slow_epoch_test(evaluate):
    def wrapper(self, data):
        time.sleep(SLOW_EPOCH_TEST)
        return evaluate(self, data)
    return wrapper


def _is_slice(data) -> bool:
    """The slice (an ArrayDataset or a BatchLoader over it), not the full test set (None or 200 images)."""
    labels = getattr(data, "labels", None)
    return labels is not None and len(labels) == SLICE


def test_both_curves_rise_in_time_and_end_on_the_full_test_set(raced):
    result, _, _ = raced
    for side in (result.textbook, result.convzoo):
        times = [p.seconds for p in side.points]
        assert len(times) >= 4 and all(a < b for a, b in itertools.pairwise(times[:-1]))
        assert times[-1] >= times[-2] and times[-1] == side.total_seconds
        assert side.points[0].step == 0 and side.points[-1].final and side.points[-1].full_acc == side.final_acc
        assert [p.step for p in side.points[1:-1]] == list(range(EVERY, side.points[-1].step + 1, EVERY))
    assert result.target == result.textbook.final_acc


def test_final_accuracies_equal_an_independent_evaluation(raced, tiny_data_dir):
    result, _, _ = raced
    test = load_dataset("fashion-mnist", str(tiny_data_dir)).test
    with torch.inference_mode():
        textbook = result.textbook.model.eval()(test.images.float() / 255).argmax(1)  # d2l: ToTensor only
        convzoo = result.convzoo.model.eval()(Normalizer(test.mean, test.std)(test.images)).argmax(1)
    assert result.textbook.final_acc == (textbook == test.labels).sum().item() / len(test)
    assert result.convzoo.final_acc == (convzoo == test.labels).sum().item() / len(test)


def test_the_textbooks_own_test_evaluation_after_each_epoch_is_on_its_clock(raced):
    textbook = raced[0].textbook
    assert textbook.epoch_test_acc == [textbook.final_acc]  # one epoch: its evaluation is the final figure
    # d2l's loop evaluates after the epoch's last step, so the clock from the last step's point to the
    # end holds the (slowed) evaluation; paused, it would hold a few milliseconds.
    last_step_point = textbook.points[-2]
    assert not last_step_point.final and textbook.points[-1].final
    assert textbook.total_seconds - last_step_point.seconds >= SLOW_EPOCH_TEST


def test_the_textbooks_per_epoch_evaluation_is_a_plain_test_accuracy(tiny_data_dir):
    bundle = load_dataset("fashion-mnist", str(tiny_data_dir))
    loop = TextbookLoop(TEXTBOOK, bundle, seed=0)
    loop.run(5)
    with torch.inference_mode():
        predicted = loop.model.eval()(bundle.test.images.float() / 255).argmax(1)
    expected = (predicted == bundle.test.labels).sum().item() / len(bundle.test)
    assert loop.test_accuracy(bundle.test) == expected == loop.accuracy(bundle.test)


def test_the_crossing_is_the_first_point_where_slice_and_full_set_reach_the_target(raced):
    result, _, _ = raced
    crossing, target = result.convzoo.crossing, result.target
    assert crossing is not None, "the tiny recipe should reach the tiny textbook's accuracy"
    assert crossing.slice_acc >= target and crossing.full_acc >= target
    assert crossing is first_crossing(result.convzoo.points, target)
    before = result.convzoo.points[:result.convzoo.points.index(crossing)]
    assert all(p.slice_acc < target or p.full_acc < target for p in before)
    assert result.time_to_target == crossing.seconds
    assert result.ratio == pytest.approx(result.textbook.total_seconds / crossing.seconds)


def test_a_slice_above_the_target_is_not_enough():
    points = [Point(1.0, 10, 0.1, 0.50), Point(2.0, 20, 0.2, 0.85, full_acc=0.79), Point(3.0, 30, 0.3, 0.84),
              Point(4.0, 40, 0.4, 0.86, full_acc=0.81), Point(5.0, 50, 0.5, 0.90, full_acc=0.90)]
    assert first_crossing(points, 0.80) is points[3]
    assert first_crossing(points, 0.95) is None


def test_the_paused_clock_leaves_slow_evaluations_out(raced):
    result, wall, slept = raced
    evaluations = len(result.textbook.points) + len(result.convzoo.points)
    assert slept == pytest.approx(SLOW * evaluations)  # every point's slice evaluation was slowed
    clocks = result.textbook.total_seconds + result.convzoo.total_seconds
    # Had the slow evaluations counted, the clocks would hold them; they fit beside them in the wall time.
    assert clocks + slept <= wall
    assert result.textbook.paused_seconds >= SLOW * (len(result.textbook.points) - 1)
    assert result.convzoo.paused_seconds >= SLOW * (len(result.convzoo.points) - 1)


def test_the_clock_pauses():
    clock = PausableClock()
    with clock.paused():
        time.sleep(0.05)
        with clock.paused():  # nested: still one pause
            time.sleep(0.05)
        frozen = clock.seconds()
    assert clock.seconds() >= frozen and clock.paused_seconds >= 0.1
    assert clock.seconds() < 0.1  # the 0.1 s of sleep are not on the clock


def test_the_report(raced):
    result, _, _ = raced
    text = report(result)
    assert f"target {result.target:.4f}" in text and f"ratio {result.ratio:.1f}x" in text
    assert len(text.splitlines()) == 7 and text.splitlines()[-1].startswith("machine:")


@pytest.mark.slow
def test_the_command_prints_json_and_writes_the_figure(capsys, tiny_data_dir, tmp_path, monkeypatch):
    tiny = Recipe("tiny", "a test recipe", {k: (v, "test") for k, v in {**RECIPES["fast"].values(), **CONVZOO,
                                                                          "epochs": 1}.items()})
    monkeypatch.setitem(RECIPES, "tiny", tiny)
    code, out, err = run_cli(capsys, "bench", "race", "--recipe", "tiny", "--data-dir", tiny_data_dir, "--epochs", 1,
                             "--eval-every", 3, "--slice", 50, "--threads", 1, "-o", tmp_path / "race.png", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["recipe"] == "tiny" and result["slice_size"] == 50 and result["target"] > 0
    assert {"cpu", "cores", "threads", "torch", "load_average_before"} <= set(result["machine"])
    for side in ("textbook", "convzoo"):
        assert result[side]["points"][-1]["full_acc"] == result[side]["final_acc"]
    assert (tmp_path / "race.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and result["figure"] == str(tmp_path / "race.png")
    assert "textbook: test accuracy" in err  # progress goes to stderr, so stdout stays JSON


@pytest.mark.parametrize("args, message", [
    (["--recipe", "fastest"], "unknown recipe 'fastest'; did you mean fast"),
    (["--data-dir", "EMPTY"], "fashion-mnist"),
    (["-o", "FILE/race.png"], "cannot write"),
    (["-o", "DIR"], "the figure is written as"),
    (["-o", "race.txt"], "the figure is written as"),
])
def test_bad_input_is_one_line_and_writes_nothing(capsys, tmp_path, tiny_data_dir, args, message):
    (tmp_path / "EMPTY").mkdir()
    (tmp_path / "FILE").write_text("not a folder")
    (tmp_path / "DIR").mkdir()
    args = [str(tmp_path / a) if a in ("EMPTY", "FILE/race.png", "DIR", "race.txt") else a for a in args]
    data = [] if "--data-dir" in args else ["--data-dir", tiny_data_dir]
    output = [] if "-o" in args else ["-o", tmp_path / "race.png"]
    code, out, err = run_cli(capsys, "bench", "race", *args, *data, *output)
    assert code == 1 and out == ""
    assert err.startswith("convzoo: error:") and message in err and len(err.strip().splitlines()) == 1
    assert not list(tmp_path.glob("*.png")) and not list(tmp_path.glob(".*tmp"))


@pytest.mark.parametrize("flag, value", [("--slice", "0"), ("--epochs", "0"), ("--eval-every", "-1"),
                                         ("--threads", "100000")])
def test_bounded_flags(capsys, flag, value):
    code, _, err = run_cli(capsys, "bench", "race", flag, value)
    assert code == 2 and f"{flag}: must be" in err
