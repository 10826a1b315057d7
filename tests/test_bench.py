"""The benchmark commands: they run and report (tables and JSON); nothing asserts a time."""

from __future__ import annotations

import json
import os

import pytest

from convzoo.bench.peak import peak_cache_path
from convzoo.cli import main
from convzoo.tables import text_table
from convzoo.timing import machine, percentile
from convzoo.train import tune


@pytest.fixture
def cached_peak():
    """A peak cache for this machine, so `bench train` does not multiply 3072-wide matrices."""
    from convzoo.atomic import write_json

    write_json(peak_cache_path(), {"fp32": 100.0, "bf16": 400.0, "size": 64, **machine()})


# ---- bench commands --------------------------------------------------------------------------
def test_bench_peak_measures_and_caches(capsys):
    assert main(["bench", "peak", "--size", "64", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "ratio vs fp32" in out and "peak RSS" in out
    assert main(["bench", "peak", "--size", "64", "--repeats", "1", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    cached = json.loads(peak_cache_path().read_text())  # what the Trainer's "of peak" column will read
    assert result["fp32"] > 0 and result["bf16"] > 0 and result["peak_rss_mib"] > 0
    assert (cached["fp32"], cached["bf16"], cached["size"]) == (result["fp32"], result["bf16"], 64)


def test_bench_peak_on_small_matrices_keeps_a_cache_made_on_larger_ones(capsys, cached_peak):
    """A 32-wide product underrates the machine: it must not replace the 64-wide rate bench train reads."""
    before = peak_cache_path().read_text()
    assert main(["bench", "peak", "--size", "32", "--repeats", "1"]) == 0
    assert "not cached" in capsys.readouterr().out and peak_cache_path().read_text() == before
    assert main(["bench", "peak", "--size", "64", "--repeats", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["cached"] is True
    assert json.loads(peak_cache_path().read_text())["fp32"] != 100.0  # the fixture's rate, replaced


@pytest.mark.slow
def test_bench_train_json_is_json_alone_when_the_auto_setup_is_measured(capsys, monkeypatch, tmp_path, tiny_data_dir):
    from convzoo.atomic import write_json

    monkeypatch.setenv("HOME", str(tmp_path))  # no tuned setup cached yet: this run times the candidates
    write_json(peak_cache_path(), {"fp32": 100.0, "bf16": 400.0, "size": 64, **machine()})
    assert main(["bench", "train", "lenet_modern", "--steps", "1", "--rounds", "1", "--batch-size", "32",
                 "--data-dir", str(tiny_data_dir), "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["model"] == "lenet_modern"  # stdout parses: the set-up's log is not in it
    assert "auto setup:" in err


@pytest.mark.slow
def test_bench_train_prints_both_loops_and_their_ratio(capsys, tiny_data_dir, cached_peak):
    args = ["bench", "train", "lenet_modern", "--steps", "2", "--rounds", "1", "--batch-size", "32",
            "--data-dir", str(tiny_data_dir)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "ratio" in out and "of peak" in out and "peak RSS" in out and "cached" in out
    assert main([*args, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    textbook, *convzoo = result["loops"]
    assert (textbook["name"], textbook["precision"], textbook["ratio"]) == ("textbook", "fp32", 1.0)
    assert len(convzoo) == 2 and (convzoo[0]["precision"], convzoo[0]["layout"]) == ("fp32", "NCHW")
    # The last row runs the setup the Trainer measured and cached for this model and batch size.
    cached = [v["setup"] for k, v in json.loads((tune.cache_root() / tune.TUNE_CACHE).read_text()).items()
              if json.loads(k)["model"] == "lenet_modern" and json.loads(k)["batch_size"] == 32]
    assert cached  # measured and cached (once per set of candidates)
    assert (convzoo[1]["precision"], convzoo[1]["layout"]) in [
        (c["precision"], "channels_last" if c["channels_last"] else "NCHW") for c in cached]
    for loop in convzoo:
        assert loop["ratio"] == pytest.approx(loop["examples_per_sec"] / textbook["examples_per_sec"])
    assert result["flops_per_example"] > 0 and result["peak_gflops"]["fp32"] == 100.0  # the cached peak
    # The JSON holds what the text shows: each loop's step GFLOP/s and its share of both peaks.
    for loop in result["loops"]:
        gflops = loop["examples_per_sec"] * result["flops_per_example"] / 1e9
        assert loop["gflops"] == pytest.approx(gflops)
        assert loop["percent_of_matmul"] == pytest.approx(100 * gflops / 100.0 if loop["precision"] == "fp32"
                                                          else 100 * gflops / 400.0)
        if result["peak_estimate"]:
            assert loop["percent_of_peak"] == pytest.approx(100 * gflops / result["peak_estimate"][loop["precision"]])


def test_bench_train_rejects_a_batch_larger_than_the_data(capsys, tiny_data_dir, cached_peak):
    assert main(["bench", "train", "lenet_modern", "--batch-size", "5000", "--data-dir", str(tiny_data_dir)]) == 1
    assert "fewer than one batch" in capsys.readouterr().err


def test_bench_infer_prints_percentiles_per_precision(capsys):
    assert main(["bench", "infer", "lenet_modern", "--calls", "3", "--batches", "1", "--batch-size", "4"]) == 0
    out = capsys.readouterr().out
    assert "p50 ms" in out and "p99 ms" in out and "ratio vs fp32" in out and "peak RSS" in out
    assert main(["bench", "infer", "lenet_modern", "--calls", "3", "--batches", "1", "--batch-size", "4",
                 "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [row["precision"] for row in result["results"]] == ["fp32", "bf16"]
    for row in result["results"]:
        assert row["p99_ms"] >= row["p50_ms"] > 0 and row["examples_per_sec"] > 0
    assert (result["calls"], result["batch_size"], result["input"]) == (3, 4, [1, 28, 28])


def test_bench_data_times_an_epoch_of_batches(capsys, tiny_data_dir):
    assert main(["bench", "data", "--data-dir", str(tiny_data_dir), "--rounds", "1"]) == 0
    out = capsys.readouterr().out
    assert "600 fashion-mnist examples" in out and "speed-up" in out and "peak RSS" in out
    assert main(["bench", "data", "--data-dir", str(tiny_data_dir), "--rounds", "1", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["examples"], result["rounds"]) == (600, 1)
    assert result["speedup"] == pytest.approx(result["textbook_seconds"] / result["convzoo_seconds"])
    assert main(["bench", "data", "--data-dir", str(tiny_data_dir), "--augment", "rotate"]) == 1


def test_percentile_and_table():
    samples = [float(v) for v in range(1, 101)]
    assert percentile(samples, 50) == pytest.approx(50.5)
    assert percentile(samples, 99) == pytest.approx(99.01)
    assert percentile([3.0], 99) == 3.0
    lines = text_table(("name", "n"), [("a", "1"), ("longer", "100")]).splitlines()
    assert lines == ["name      n", "a         1", "longer  100"]


# ---- bench recipe ------------------------------------------------------------------------------
@pytest.mark.slow
def test_bench_recipe_times_cold_runs_and_summarises_the_seeds(capsys, tiny_data_dir):
    from helpers import run_cli

    code, out, err = run_cli(capsys, "bench", "recipe", "fast", "--seeds", "0,1", "--threads", "1", "--data-dir",
                             tiny_data_dir, "--json", "--", "--epochs", "1", "--model-arg", "widths=4,8,8")
    assert code == 0, err
    record = json.loads(out)
    runs = record["runs"]
    assert [r["seed"] for r in runs] == [0, 1]
    # Real runs: the wall clock covers the whole process, more than the epochs it reports.
    assert all(0 <= r["accuracy"] <= 1 and r["seconds"] > r["train_seconds"] > 0 for r in runs)
    assert record["mean"] == pytest.approx(sum(r["accuracy"] for r in runs) / 2)
    assert "--epochs 1" in record["command"] and "--threads 1" in record["command"]
    assert record["machine"]["threads"] == 1 and record["target"]["accuracy"] == 0.92
    assert "seed 1: test accuracy" in err


def _fake_train_runs(monkeypatch, answer):
    """bench recipe's `convzoo train` processes answered by `answer(recipe, seed, command)` ->
    (returncode, stdout, stderr), without starting them; other commands (git, lscpu) run."""
    import subprocess

    from convzoo.bench import recipe_runs

    real_run = subprocess.run

    def run(command, **kwargs):
        if "--recipe" not in command:
            return real_run(command, **kwargs)
        recipe, seed = (command[command.index(flag) + 1] for flag in ("--recipe", "--seed"))
        return subprocess.CompletedProcess(command, *answer(recipe, seed, command))

    monkeypatch.setattr(recipe_runs.subprocess, "run", run)


def test_bench_recipe_names_an_unknown_recipe_in_one_line_before_any_run(capsys, monkeypatch):
    from helpers import run_cli

    _fake_train_runs(monkeypatch, lambda *a: pytest.fail("a run started"))
    for args in (["fastest"], ["fast", "--against", "fastest"]):
        code, _, err = run_cli(capsys, "bench", "recipe", *args, "--seeds", "0")
        assert code == 1 and "unknown recipe 'fastest'; did you mean fast" in err
        assert len(err.strip().splitlines()) == 1


@pytest.mark.slow  # counts the recipe's FLOPs on the tiny data first
def test_bench_recipe_reports_a_failing_run_in_one_line(capsys, monkeypatch, tiny_data_dir):
    from helpers import run_cli

    _fake_train_runs(monkeypatch, lambda recipe, seed, command: (1, "", "epoch 1 ...\nconvzoo: error: out of disk space\n"))
    code, _, err = run_cli(capsys, "bench", "recipe", "fast", "--seeds", "3", "--data-dir", tiny_data_dir)
    assert code == 1 and "recipe fast, seed 3 failed: convzoo: error: out of disk space" in err
    assert len(err.strip().splitlines()) == 1
    # a bad train flag is refused in one line before any run starts (the count parses it first)
    code, _, err = run_cli(capsys, "bench", "recipe", "fast", "--seeds", "3", "--data-dir", tiny_data_dir,
                             "--", "--epochs", "0")
    assert code == 1 and "--epochs must be >= 1" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("seeds", ["", "1,x", "-1", "2,2"])
def test_bench_recipe_rejects_bad_seed_lists(capsys, seeds):
    from helpers import run_cli

    code, _, err = run_cli(capsys, "bench", "recipe", "fast", "--seeds", seeds)
    assert code == 2 and "--seeds" in err


def test_recipe_verdict_needs_both_the_accuracy_and_the_time():
    from convzoo.bench.recipe_runs import verdict

    assert verdict("fast", 0.921, 39.0) == {"accuracy": 0.92, "must_seconds": 40.0, "stretch_seconds": 25.0,
                                             "must_met": True, "stretch_met": False}
    assert not verdict("fast", 0.919, 20.0)["must_met"]  # fast enough, not accurate enough
    assert not verdict("accurate", 0.95, 301.0)["must_met"] and verdict("scenes", 0.7, 10.0) == {}


def test_only_a_passthrough_command_takes_what_follows_the_double_dash():
    from convzoo.cli import _parse, build_parser

    parser = build_parser()
    recipe = _parse(parser, ["bench", "recipe", "fast", "--seeds", "1", "--", "--epochs", "4", "--ema", "0.99"])
    assert recipe.recipe == "fast" and recipe.seeds == [1] and recipe.passthrough == ["--epochs", "4", "--ema", "0.99"]
    assert _parse(parser, ["bench", "recipe", "fast"]).passthrough == []
    # Elsewhere `--` keeps argparse's meaning: what follows is positional (a file named like a flag).
    predict = _parse(parser, ["predict", "digits", "--", "-odd.png"])
    assert predict.checkpoint == "digits" and predict.images == ["-odd.png"]


@pytest.mark.slow  # counts the recipe's FLOPs on the tiny data first
def test_bench_recipe_refuses_a_run_without_its_json_result(capsys, monkeypatch, tiny_data_dir):
    from helpers import run_cli

    # a train run whose stdout is its text, not its JSON result
    _fake_train_runs(monkeypatch, lambda recipe, seed, command: (0, "epoch 1 ...\ntest accuracy 0.9\n", ""))
    code, _, err = run_cli(capsys, "bench", "recipe", "fast", "--seeds", "0", "--data-dir", tiny_data_dir)
    assert code == 1 and "seed 0: the run ended without its --json result" in err
    code, _, err = run_cli(capsys, "bench", "recipe", "fast", "--seeds", "0", "--", "--help")
    assert code == 1 and "unrecognized arguments: --help" in err  # refused before any run


@pytest.mark.slow  # counts both recipes' FLOPs on the tiny data
def test_bench_recipe_against_alternates_the_seeds_and_divides_the_counts(capsys, monkeypatch, tiny_data_dir):
    from helpers import run_cli

    started = []

    def finished(recipe, seed, command):  # a finished run of that recipe, its accuracy set by the recipe
        started.append((recipe, seed, "--ema" in command))
        return 0, json.dumps({"test_acc": 0.93 if recipe == "fast" else 0.92, "seconds": 1.0}), ""

    _fake_train_runs(monkeypatch, finished)
    code, out, err = run_cli(capsys, "bench", "recipe", "fast", "--against", "fast-2026-11", "--seeds", "0,1",
                             "--data-dir", tiny_data_dir, "--json", "--", "--ema", "0.5")
    assert code == 0, err
    # seed by seed, the flags after -- to the first recipe only
    assert started == [("fast", "0", True), ("fast-2026-11", "0", False), ("fast", "1", True),
                       ("fast-2026-11", "1", False)]
    record = json.loads(out)
    counts = []
    for recipe in ("fast", "fast-2026-11"):
        code, counted, _ = run_cli(capsys, "bench", "recipe", recipe, "--count", "--data-dir", tiny_data_dir, "--json")
        counts.append(json.loads(counted)["train_flops"])
    assert record["ratios"]["train_flops"] == pytest.approx(counts[0] / counts[1])
    assert record["ratios"]["accuracy_difference"] == pytest.approx(0.01)
    assert record["against"]["recipe"] == "fast-2026-11" and record["against"]["mean"] == pytest.approx(0.92)


def test_bench_recipe_keep_keeps_each_seeds_run_and_never_overwrites_one(capsys, monkeypatch, tiny_data_dir,
                                                                           tmp_path):
    from helpers import run_cli

    def finished(recipe, seed, command):  # a run that wrote its checkpoint into its --out, as train does
        out = command[command.index("--out") + 1]
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, "model.pt"), "w") as f:
            f.write(f"{recipe} {seed}")
        return 0, json.dumps({"test_acc": 0.93, "seconds": 1.0}), ""

    _fake_train_runs(monkeypatch, finished)
    keep = tmp_path / "kept"
    code, _, err = run_cli(capsys, "bench", "recipe", "fast", "--against", "fast", "--seeds", "0,1",
                           "--data-dir", tiny_data_dir, "--keep", str(keep))
    assert code == 0, err
    assert sorted(os.listdir(keep)) == ["fast-0-seed0", "fast-0-seed1", "fast-1-seed0", "fast-1-seed1"]
    assert (keep / "fast-1-seed1" / "model.pt").read_text() == "fast 1"
    _fake_train_runs(monkeypatch, lambda *a: pytest.fail("a run started over a kept one"))
    code, _, err = run_cli(capsys, "bench", "recipe", "fast", "--seeds", "1", "--keep", str(keep),
                           "--against", "fast")
    assert code == 1 and "fast-0-seed1 is already there" in err and len(err.strip().splitlines()) == 1
    assert (keep / "fast-0-seed1" / "model.pt").read_text() == "fast 1"


def test_bench_recipe_test_once_reads_the_test_set_once_in_every_run(capsys, monkeypatch, tiny_data_dir):
    from helpers import run_cli

    commands = []

    def finished(recipe, seed, command):
        commands.append(command)
        return 0, json.dumps({"test_acc": 0.93, "seconds": 1.0}), ""

    _fake_train_runs(monkeypatch, finished)
    code, out, err = run_cli(capsys, "bench", "recipe", "fast", "--seeds", "0,1", "--data-dir", tiny_data_dir,
                             "--test-once", "--json")
    assert code == 0, err
    assert [("--test-once" in c, "--val-split" in c) for c in commands] == [(True, False)] * 2
    record = json.loads(out)
    assert record["thresholds"] == [] and record["compute"]["images_seen"] > 0  # one run's count, no crossings
    code, _, err = run_cli(capsys, "bench", "recipe", "fast", "--", "--test-once")
    assert code == 1 and "--test-once after -- is set by bench recipe itself" in err
    code, _, err = run_cli(capsys, "bench", "recipe", "fast", "--count", "--keep", "kept")
    assert code == 1 and "--count trains nothing" in err and len(err.strip().splitlines()) == 1
