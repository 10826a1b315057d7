"""The compute to a validation accuracy (bench/thresholds.py), the protocol that reads the test set
once (`--test-once`), and `bench recipe --val-split --to` built from them."""

import json

import pytest


def test_crossing_epoch_is_the_first_epoch_at_or_above():
    from convzoo.bench.thresholds import crossing_epoch

    curve = [0.90, 0.93, 0.92, 0.95]
    assert crossing_epoch(curve, 0.92) == 2 and crossing_epoch(curve, 0.93) == 2
    assert crossing_epoch(curve, 0.95) == 4 and crossing_epoch(curve, 0.96) is None and crossing_epoch([], 0.5) is None


def test_to_thresholds_averages_the_seeds_that_reached_and_counts_the_rest():
    from convzoo.bench.thresholds import threshold_cells, to_thresholds

    by_epoch = [{"images_seen": 100 * e, "train_flops": 1e9 * e} for e in (1, 2, 3)]
    curves = [[0.91, 0.93, 0.94], [0.92, 0.92, 0.95], [0.90, 0.91, 0.93]]
    rows = {r["threshold"]: r for r in to_thresholds(curves, by_epoch, (0.92, 0.94, 0.96))}
    assert rows[0.92]["reached"] == 3 and rows[0.92]["epochs"]["mean"] == pytest.approx(2.0)  # epochs 2, 1, 3
    assert rows[0.92]["images_seen"]["sd"] == pytest.approx(100.0)
    assert rows[0.94]["reached"] == 2 and rows[0.94]["train_flops"]["mean"] == pytest.approx(3e9)
    assert rows[0.96]["reached"] == 0 and "epochs" not in rows[0.96] and rows[0.96]["best_val_accuracy"] == 0.95
    assert threshold_cells(rows[0.96])[-1] == "(best val 0.9500)" and threshold_cells(rows[0.94])[1] == "2 of 3"


@pytest.mark.slow  # trains twice on the tiny dataset
def test_test_once_reads_the_test_set_after_the_last_epoch_only(tmp_path, tiny_data_dir):
    from convzoo.bench.recipe_runs import recipe_compute
    from convzoo.train import TrainConfig, Trainer

    def config(**kw):
        return TrainConfig(model="lenet_modern", data="fashion-mnist", data_dir=str(tiny_data_dir), epochs=3,
                           batch_size=64, lr=0.05, precision="fp32", val_split=0.25, progress=False, **kw)

    trainer = Trainer(config(test_once=True, out=str(tmp_path / "once")))
    result = trainer.fit()
    assert [("test_acc" in r, "val_acc" in r) for r in trainer.history] == [(False, True), (False, True), (True, True)]
    rows = [json.loads(line) for line in (tmp_path / "once" / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["test_acc"] == result["test_acc"] and "test_acc" not in rows[0]
    assert json.loads((tmp_path / "once" / "eval.json").read_text())["epoch"] == 3
    # the same seed without the flag trains the same weights: the protocol changes what is read, not the run
    every = Trainer(config(out=str(tmp_path / "every")))
    assert every.fit()["test_acc"] == pytest.approx(result["test_acc"])
    assert [r["val_acc"] for r in every.history] == pytest.approx([r["val_acc"] for r in trainer.history])
    # the count charges one test pass instead of three; the validation passes stay
    once, each = recipe_compute(config(test_once=True)), recipe_compute(config())
    test_pass = (each.eval_flops - once.eval_flops) / 2
    assert test_pass > 0 and once.train_flops == each.train_flops
    by_epoch = recipe_compute(config(), by_epoch=True)
    assert [c.images_seen for c in by_epoch] == [each.images_seen * e // 3 for e in (1, 2, 3)]


def test_bench_recipe_to_needs_a_validation_split_and_owns_it(capsys, monkeypatch):
    from helpers import run_cli
    from test_bench import _fake_train_runs

    _fake_train_runs(monkeypatch, lambda *a: pytest.fail("a run started"))
    code, _, err = run_cli(capsys, "bench", "recipe", "fast", "--to", "0.92")
    assert code == 1 and "--to reads the validation accuracy" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_cli(capsys, "bench", "recipe", "fast", "--val-split", "0.1", "--", "--val-split", "0.2")
    assert code == 1 and "--val-split after -- is set by bench recipe itself" in err
    for bad in ("0.9,x", "0", "1.5"):
        code, _, err = run_cli(capsys, "bench", "recipe", "fast", "--val-split", "0.1", "--to", bad)
        assert code == 2 and "--to" in err


@pytest.mark.slow  # counts the recipe's FLOPs epoch by epoch on the tiny data
def test_bench_recipe_val_split_reports_the_compute_to_each_accuracy(capsys, monkeypatch, tiny_data_dir):
    from helpers import run_cli
    from test_bench import _fake_train_runs

    curves = {"0": [0.80, 0.91, 0.93], "1": [0.85, 0.88, 0.90]}

    def finished(recipe, seed, command):  # a run that wrote its metrics.jsonl, as train does
        assert command[command.index("--val-split") + 1] == "0.1" and "--test-once" in command
        out = command[command.index("--out") + 1]
        import os
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, "metrics.jsonl"), "w") as f:
            f.writelines(json.dumps({"epoch": e, "val_acc": a}) + "\n" for e, a in enumerate(curves[seed], 1))
        return 0, json.dumps({"test_acc": curves[seed][-1], "seconds": 1.0}), ""

    _fake_train_runs(monkeypatch, finished)
    code, out, err = run_cli(capsys, "bench", "recipe", "fast", "--seeds", "0,1", "--data-dir", tiny_data_dir,
                             "--val-split", "0.1", "--to", "0.9,0.95", "--json", "--", "--epochs", "3")
    assert code == 0, err
    record = json.loads(out)
    rows = {r["threshold"]: r for r in record["thresholds"]}
    assert rows[0.9]["reached"] == 2 and rows[0.9]["epochs"]["mean"] == pytest.approx(2.5)  # epochs 2 and 3
    assert rows[0.9]["images_seen"]["mean"] == pytest.approx(record["compute"]["images_seen"] * 2.5 / 3)
    assert rows[0.95]["reached"] == 0
    code, text, _ = run_cli(capsys, "bench", "recipe", "fast", "--seeds", "0,1", "--data-dir", tiny_data_dir,
                            "--val-split", "0.1", "--to", "0.9,0.95", "--", "--epochs", "3")
    assert "0.90  2 of 2  2.5 ± 0.7" in text and "(best val 0.9300)" in text


@pytest.mark.slow  # counts the recipe on the tiny data twice
def test_bench_recipe_count_with_a_validation_split_counts_the_run_bench_would_make(capsys, tiny_data_dir):
    from helpers import run_cli

    counted = []
    for split in ([], ["--val-split", "0.25"]):
        code, out, err = run_cli(capsys, "bench", "recipe", "fast", "--count", "--data-dir", tiny_data_dir, "--json",
                                 *split, "--", "--epochs", "2")
        assert code == 0, err
        counted.append(json.loads(out))
    plain, held_out = counted
    assert held_out["flags"][-3:] == ["--val-split", "0.25", "--test-once"]
    assert held_out["images_seen"] < plain["images_seen"]  # a quarter of the training set held out
