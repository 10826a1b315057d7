"""Multi-process training through torchrun + DDP (gloo on CPU): N processes train the model one
process would, the test set is evaluated exactly once, --resume works with N processes, and a
dead rank stops the run with a non-zero exit and no partial checkpoint."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

pytestmark = pytest.mark.slow

TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone"]


def _env(tmp_path):
    # One thread per process: two processes on two cores; the tuner's cache stays in the test's home.
    return {**os.environ, "OMP_NUM_THREADS": "1", "HOME": str(tmp_path / "home"), "PYTHONWARNINGS": "ignore"}


def _train(tmp_path, out, args, processes=1, **popen):
    command = ([*TORCHRUN, f"--nproc-per-node={processes}", "-m", "convzoo"] if processes > 1
               else [sys.executable, "-m", "convzoo"])
    return subprocess.run(  # noqa: PLW1510 - the tests read the exit code
        [*command, "train", *args, "--out", str(tmp_path / out)], env=_env(tmp_path),
        capture_output=True, text=True, timeout=180, **popen)


def _common(data_dir, model="lenet", *extra):
    return [model, "--data", "fashion-mnist", "--data-dir", str(data_dir), "--batch-size", "64",
            "--precision", "fp32", "--no-channels-last", "--threads", "1", "--seed", "3", *extra]


def _metrics(run):
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def _weights(run):
    return torch.load(run / "checkpoint.pt", weights_only=True)["state_dict"]


def _assert_same_run(one, two, weight_tol, rtol=0.0, loss_tol=1e-5):
    rows_one, rows_two = _metrics(one), _metrics(two)
    assert len(rows_one) == len(rows_two) >= 2
    for a, b in zip(rows_one, rows_two):
        for key in ("train_loss", "test_loss"):
            assert a[key] == pytest.approx(b[key], abs=loss_tol), (a["epoch"], key)
        assert a["test_acc"] == b["test_acc"]
    w1, w2 = _weights(one), _weights(two)
    assert w1.keys() == w2.keys()
    for name in w1:
        assert torch.allclose(w1[name].float(), w2[name].float(), atol=weight_tol, rtol=rtol), name


def test_two_processes_train_what_one_process_trains(tmp_path, tiny_data_dir):
    """lenet (no batch norm) with shifts and flips: the same per-epoch losses to 1e-5 and the same
    weights, because the two processes share each global batch of 64 and DDP averages gradients."""
    args = _common(tiny_data_dir, "lenet", "--epochs", "2", "--lr", "0.5", "--augment", "crop+flip")
    single = _train(tmp_path, "one", args)
    double = _train(tmp_path, "two", args, processes=2)
    assert single.returncode == 0, single.stderr[-2000:]
    assert double.returncode == 0, double.stderr[-2000:]
    assert "2 processes" in double.stdout and double.stdout.count("run saved in") == 1  # rank 0 prints
    _assert_same_run(tmp_path / "one", tmp_path / "two", weight_tol=1e-5)
    saved = json.loads((tmp_path / "two" / "config.json").read_text())
    assert saved["runtime"]["world_size"] == 2
    evaluation = json.loads((tmp_path / "two" / "eval.json").read_text())
    assert sum(map(sum, evaluation["confusion"])) == 200  # the test set exactly once, no padding
    assert not [p.name for p in (tmp_path / "two").iterdir() if p.name.startswith(".")]


def test_sync_bn_makes_two_processes_match_one_with_batch_norm(tmp_path, tiny_data_dir):
    """With --sync-bn the batch statistics are the global batch's, so lenet_modern (batch norm) also
    trains as on one process (our CPU SyncBatchNorm; torch's runs on GPUs only)."""
    args = _common(tiny_data_dir, "lenet_modern", "--epochs", "2", "--lr", "0.1")
    single = _train(tmp_path, "one", args)
    double = _train(tmp_path, "two", [*args, "--sync-bn"], processes=2)
    assert single.returncode == 0 and double.returncode == 0, double.stderr[-2000:]
    # Running variances are E[x^2] - mean^2 here, two-pass on one process: equal to 1e-4 relative.
    _assert_same_run(tmp_path / "one", tmp_path / "two", weight_tol=1e-4, rtol=1e-4)


def test_the_fast_recipe_trains_on_two_processes_as_on_one(tmp_path, tiny_data_dir):
    """`fast`'s tricks under DDP: the whitened stem is fitted alike on every rank, Muon
    orthogonalises the averaged gradients, and the weight average follows the same weights, so with
    --sync-bn two processes train what one does. Lower peaks than the recipe's: at those, fastnet
    diverges on the 600 tiny images (train loss ~10), and a diverging run magnifies the rounding
    differences of summing gradients in another order."""
    args = _common(tiny_data_dir, "fastnet", "--recipe", "fast", "--epochs", "2", "--lr", "0.02", "--muon-lr", "0.01")
    single = _train(tmp_path, "one", args)
    double = _train(tmp_path, "two", [*args, "--sync-bn"], processes=2)
    assert single.returncode == 0 and double.returncode == 0, double.stderr[-2000:]
    saved = json.loads((tmp_path / "two" / "config.json").read_text())["config"]
    assert saved["optimizer"] == "muon" and saved["ema"] > 0 and saved["model_kwargs"]["whiten"] is True
    # Muon's Newton-Schulz iteration magnifies the rounding of summing the gradients in another order
    # (its slope at a small singular value is 3.4): losses 5e-4 apart after 2 epochs, weights 1.4e-3
    # at most (a BN running variance of 3.1); the same run with SGD matches to 1e-6. A rank that
    # whitened or stepped differently would be off by far more.
    _assert_same_run(tmp_path / "one", tmp_path / "two", weight_tol=2e-3, rtol=1e-3, loss_tol=1e-3)


def test_resume_with_two_processes_continues_the_run(tmp_path, tiny_data_dir):
    """A constant schedule makes a 1-epoch run resumed to 2 epochs equal to a 2-epoch run."""
    args = _common(tiny_data_dir, "lenet", "--lr", "0.3", "--schedule", "constant", "--augment", "crop")
    whole = _train(tmp_path, "whole", [*args, "--epochs", "2"])
    first = _train(tmp_path, "parts", [*args, "--epochs", "1"], processes=2)
    assert whole.returncode == 0 and first.returncode == 0, first.stderr[-2000:]
    resumed = subprocess.run([*TORCHRUN, "--nproc-per-node=2", "-m", "convzoo", "train", "--resume",  # noqa: PLW1510
                              str(tmp_path / "parts"), "--epochs", "2"], env=_env(tmp_path),
                             capture_output=True, text=True, timeout=180)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    _assert_same_run(tmp_path / "whole", tmp_path / "parts", weight_tol=1e-5)


def test_a_dead_rank_stops_the_run_with_an_error_and_no_partial_checkpoint(tmp_path, tiny_data_dir):
    run = tmp_path / "dying"
    args = _common(tiny_data_dir, "lenet", "--epochs", "200", "--lr", "0.1", "--dist-timeout", "20")
    command = [*TORCHRUN, "--nproc-per-node=2", "-m", "convzoo", "train", *args, "--out", str(run)]
    launcher = subprocess.Popen(command, env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not (run / "checkpoint.pt").exists():  # wait for the first saved epoch
            assert launcher.poll() is None and time.monotonic() < deadline, "the run did not start"
            time.sleep(0.2)
        workers = _children(launcher.pid)
        assert len(workers) == 2, workers
        os.kill(max(workers), signal.SIGKILL)  # one rank dies mid-run
        code = launcher.wait(timeout=60)  # the others must not wait forever
    finally:
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGKILL)
        launcher.communicate()
    assert code != 0
    assert not [p.name for p in run.iterdir() if p.name.startswith(".")]  # no temporary checkpoint left
    payload = torch.load(run / "checkpoint.pt", weights_only=True)  # the last complete epoch
    assert 1 <= payload["epoch"] < 200 and len(payload["history"]) == payload["epoch"]


def _children(pid: int) -> list[int]:
    """The worker processes torchrun started (its direct children running Python)."""
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True, check=True).stdout
    return [int(p) for p in out.split()]
