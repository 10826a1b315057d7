"""Bad input and faults (issue 17): each class of problem gives a one-line error and a non-zero exit,
or a correct result; never a traceback, a hang, a partial file or a confident answer on an empty or
mismatched input. One test (or a few) per class; the demo server's slow and dead clients are in
test_serve.py, summary rows in test_analysis.py."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import require_mnist_10k, write_idx_dataset
from helpers import run_cli as run
from PIL import Image, ImageDraw

from convzoo.data import load_dataset
from convzoo.errors import ConvzooError, DataError
from convzoo.train import TrainConfig, Trainer, load_checkpoint
from convzoo.train import trainer as trainer_module


def one_line_error(code, err, *fragments) -> str:
    lines = err.strip().splitlines()
    assert code not in (0, None) and len(lines) == 1, err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def seven(path, size=200):
    img = Image.new("L", (size, size), 255)
    ImageDraw.Draw(img).line([(50, 40), (150, 40), (90, 170)], fill=0, width=16)
    img.save(path)
    return path


# ---- 2. wrong answers given with confidence -------------------------------------------------
def test_predict_says_empty_image_and_fails(capsys, tmp_path):
    white = tmp_path / "white.png"
    Image.new("L", (100, 100), 255).save(white)
    code, out, err = run(capsys, "predict", "digits", white)
    one_line_error(code, err, "white.png", "empty image")
    assert out == ""  # no answer at all, let alone "1 0.995"
    code, out, err = run(capsys, "predict", "digits", white, "--json")
    assert code == 1 and json.loads(out) == [{"image": str(white), "empty": True, "error": json.loads(out)[0]["error"]}]
    assert "empty image" in json.loads(out)[0]["error"]


def test_predict_answers_the_good_files_and_names_each_bad_one(capsys, tmp_path):
    good, text = seven(tmp_path / "seven.png"), tmp_path / "notes.png"
    text.write_text("not a picture")
    white = tmp_path / "white.png"
    Image.new("L", (60, 60), 0).save(white)
    code, out, err = run(capsys, "predict", "digits", good, text, tmp_path / "missing.png", white)
    assert code == 1
    assert out.splitlines() == [out.splitlines()[0]] and out.startswith(f"{good}: 7 ")
    bad = err.strip().splitlines()
    assert len(bad) == 3 and all(line.startswith("convzoo: error: ") for line in bad)
    assert "notes.png: not a PNG or JPEG" in bad[0] and "missing.png: no such file" in bad[1]
    assert "white.png: empty image" in bad[2]
    code, out, _ = run(capsys, "predict", "digits", good, text, "--json")
    results = json.loads(out)
    assert code == 1 and results[0]["top"][0]["class"] == "7" and "error" in results[1]


def test_eval_refuses_a_dataset_whose_classes_differ(capsys, tiny_run, tiny_data_dir):
    """tiny_run is a Fashion-MNIST-class model; the same files read as `mnist` carry digit classes."""
    code, _, err = run(capsys, "eval", tiny_run, "--data", "mnist", "--data-dir", tiny_data_dir)
    one_line_error(code, err, "mnist's classes", "are not this model's", "--force")
    code, out, _ = run(capsys, "eval", tiny_run, "--data", "mnist", "--data-dir", tiny_data_dir, "--force", "--json")
    assert code == 0 and json.loads(out)["data"] == "mnist"


@pytest.mark.slow
def test_eval_of_the_same_classes_under_another_name_is_fine(capsys):
    """The pretrained digits on `mnist` files (the shipped sample, read as MNIST): same classes."""
    folder = require_mnist_10k()
    code, out, _ = run(capsys, "eval", "digits", "--data", "mnist", "--data-dir", folder, "--json")
    assert code == 0 and json.loads(out)["accuracy"] > 0.95  # the held-out 1,000 and the 9,000 it saw


def _image_folder(root, counts: dict[str, int]):
    rng = np.random.default_rng(0)
    for cls, n in counts.items():
        (root / cls).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            Image.fromarray(rng.integers(0, 255, (12, 12), dtype=np.uint8)).save(root / cls / f"{i}.png")
    return root


@pytest.mark.parametrize("counts, words", [
    ({"cat": 4}, "one class folder (cat)"),
    ({"cat": 4, "dog": 0}, "dog hold no PNG or JPEG"),
])
def test_degenerate_image_folders_are_refused(capsys, tmp_path, counts, words):
    root = _image_folder(tmp_path / "pics", counts)
    with pytest.raises(DataError, match=words.split(" (")[0]):
        load_dataset("imagefolder", root)
    code, _, err = run(capsys, "train", "lenet_modern", "--data", "imagefolder", "--data-dir", root, "--epochs", "1",
                       "--out", tmp_path / "run")
    one_line_error(code, err, words)
    assert not (tmp_path / "run" / "checkpoint.pt").exists()


def test_a_test_class_missing_from_train_is_refused(tmp_path):
    _image_folder(tmp_path / "pics" / "train", {"cat": 3, "dog": 3})
    _image_folder(tmp_path / "pics" / "test", {"cat": 1, "dog": 1, "fox": 1})
    with pytest.raises(DataError, match="fox are not in"):
        load_dataset("imagefolder", tmp_path / "pics")


@pytest.mark.slow
def test_divergence_stops_with_one_line_and_keeps_the_last_good_checkpoint(capsys, tmp_path, tiny_data_dir):
    out = tmp_path / "boom"
    code, _, err = run(capsys, "train", "lenet_modern", "--data-dir", tiny_data_dir, "--lr", "1e6", "--epochs", "2",
                       "--precision", "fp32", "--no-channels-last", "--out", out)
    one_line_error(code, err, "training diverged", "nothing was saved")
    assert not (out / "checkpoint.pt").exists()
    # diverging in epoch 2: epoch 1's checkpoint stays, and holds no NaN
    trainer = Trainer(TrainConfig(data_dir=str(tiny_data_dir), epochs=2, lr=0.05, precision="fp32", channels_last=False,
                                  out=str(tmp_path / "later"), progress=False))
    trainer.fit(until_epoch=1)
    trainer.config.lr = 1e6
    with pytest.raises(ConvzooError, match="keeps epoch 1"):
        trainer.fit()
    payload = load_checkpoint(tmp_path / "later")
    assert payload["epoch"] == 1 and all(torch.isfinite(t).all() for t in payload["state_dict"].values()
                                         if t.is_floating_point())
    assert all(np.isfinite(row["train_loss"]) for row in payload["history"])


def test_numpy_engine_divergence_is_one_line_too(capsys, tmp_path, tiny_data_dir):
    code, _, err = run(capsys, "train", "lenet_modern", "--engine", "numpy", "--data-dir", tiny_data_dir, "--lr", "1e6",
                       "--epochs", "1", "--batch-size", "64", "--out", tmp_path / "np")
    one_line_error(code, err, "training diverged")
    assert not (tmp_path / "np").exists()


def test_a_shift_of_half_the_image_is_refused(capsys, tmp_path, tiny_data_dir):
    code, _, err = run(capsys, "train", "lenet_modern", "--data-dir", tiny_data_dir, "--augment", "crop14",
                       "--precision", "fp32", "--no-channels-last", "--out", tmp_path / "run")
    one_line_error(code, err, "--augment crop14", "not smaller than half")
    code, _, err = run(capsys, "train", "lenet_modern", "--data-dir", tiny_data_dir, "--augment", "crop99",
                       "--precision", "fp32", "--no-channels-last", "--out", tmp_path / "run")
    one_line_error(code, err, "crop99")


@pytest.fixture(scope="module")
def bf16_run(tmp_path_factory, tiny_data_dir):
    """A run trained and evaluated in bf16 autocast: a fp32 re-evaluation gives other numbers."""
    out = tmp_path_factory.mktemp("bf16") / "run"
    Trainer(TrainConfig(data_dir=str(tiny_data_dir), epochs=1, batch_size=64, lr=0.05, precision="bf16",
                        channels_last=False, out=str(out), progress=False)).fit()
    return out


@pytest.mark.slow
def test_eval_report_and_show_evaluate_as_the_run_did(capsys, bf16_run, tmp_path):
    """One evaluation path: `eval`, `report` and `show` give the run's own last test numbers."""
    from contextlib import nullcontext

    from convzoo.analysis.report import build_report
    from convzoo.analysis.runplots import evaluate_run, run_confusion
    from convzoo.train import model_from_checkpoint
    from convzoo.train.metrics import checkpoint_test_set, evaluate, evaluate_checkpoint

    last = load_checkpoint(bf16_run)["history"][-1]
    checked = evaluate_checkpoint(bf16_run)
    assert checked.precision == "bf16"
    assert checked.evaluation.accuracy == last["test_acc"] and checked.evaluation.loss == pytest.approx(
        last["test_loss"], rel=1e-12)
    # the test can fail: fp32 (what report used to recompute with) gives another loss here
    model, payload = model_from_checkpoint(bf16_run)
    from convzoo.data import BatchLoader

    fp32 = evaluate(model, BatchLoader(checkpoint_test_set(payload), 512), 10, nullcontext)
    assert fp32.loss != pytest.approx(last["test_loss"], rel=1e-6)

    code, out, _ = run(capsys, "eval", bf16_run, "--json")
    assert code == 0 and json.loads(out)["accuracy"] == last["test_acc"] and json.loads(out)["precision"] == "bf16"
    page = build_report(str(bf16_run), tmp_path / "report.html").read_text()
    assert f"<td>test accuracy</td><td class=\"n\">{last['test_acc']:.4g}</td>" in page
    confusion, _ = run_confusion(bf16_run)
    assert confusion.trace() / confusion.sum() == last["test_acc"]
    assert evaluate_run(bf16_run).accuracy == last["test_acc"]


# ---- 3. hangs and runaway resources ----------------------------------------------------------
@pytest.mark.parametrize("args, words", [
    (["demo", "--threads", "10000"], "--threads: must be from 1 to"),
    (["demo", "--port", "70000"], "--port: must be from 0 to 65535"),
    (["data", "show", "mnist-sample", "-n", "0"], "-n: must be at least 1"),
    (["show", "filters", "digits", "--max", "-3"], "--max: must be from 1 to"),
    (["show", "maximize", "digits", "--lr", "inf"], "--lr: takes a finite number"),
    (["show", "maximize", "digits", "--steps", "1000000"], "--steps: must be from 1 to"),
    (["show", "maximize", "digits", "--octaves", "100"], "--octaves: must be from 1 to 8"),
    (["show", "mistakes", "digits", "-n", "x"], "-n: takes an integer, not 'x'"),
    (["predict", "digits", "x.png", "--top-k", "0"], "--top-k: must be at least 1"),
    (["summary", "lenet", "--depth", "0"], "--depth: must be at least 1"),
    (["bench", "peak", "--size", "1000000"], "--size: must be from 1 to 8192"),
    (["bench", "train", "lenet", "--batch-size", "10000000"], "--batch-size: must be from 1 to"),
    (["bench", "infer", "lenet", "--input-size", "100000"], "--input-size: must be from 1 to 1024"),
    (["bench", "train", "lenet", "--profile", "--rounds", "3"], "--profile profiles --steps steps once"),
    (["bench", "demo", "--requests", "-1"], "--requests: must be from 1 to"),
    (["train", "lenet", "--threads", "10000"], "--threads must be"),
    (["train", "lenet", "--threads", "-1"], "--threads must be"),
    (["train", "lenet", "--momentum", "-1"], "--momentum must be"),
    (["train", "lenet", "--lr", "inf"], "--lr must be"),
])
def test_numeric_flags_are_bounded_before_any_work(capsys, args, words):
    code, _, err = run(capsys, *args)
    one_line_error(code, err, words)


@pytest.mark.slow
def test_a_grid_larger_than_the_data_is_capped_and_says_so(capsys, tmp_path, tiny_data_dir):
    grid = tmp_path / "grid.png"
    code, out, err = run(capsys, "data", "show", "fashion-mnist", "--data-dir", tiny_data_dir, "--split", "test",
                         "-n", "100000", "-o", grid)
    assert code == 0 and grid.read_bytes()[:4] == b"\x89PNG" and f"wrote {grid}" in out
    assert "-n 100,000 capped at 400" in err and "-n 400 capped at 200 (the test split's size)" in err


def _gzip_bomb(path, inflated: int, dims=(2, 28, 28)):
    """A valid gzip stream: an IDX header announcing `dims`, then `inflated` zero bytes."""
    co = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [co.compress(struct.pack(">I", 2051) + struct.pack(f">{len(dims)}I", *dims))]
    zeros = bytes(1 << 20)
    parts += [co.compress(zeros) for _ in range(inflated >> 20)]
    path.write_bytes(b"".join(parts) + co.flush())
    return path


@pytest.mark.slow
def test_a_gzip_bomb_is_inflated_no_further_than_its_header_announces(tmp_path):
    from convzoo.data.idx import CHUNK, MAX_PAYLOAD, read_idx_bytes

    bomb = _gzip_bomb(tmp_path / "train-images-idx3-ubyte.gz", 256 << 20)
    assert bomb.stat().st_size < 1 << 20  # 256 MiB inside
    data = read_idx_bytes(bomb)
    assert len(data) <= 16 + 2 * 28 * 28 + CHUNK  # stopped at the announced size, not 256 MiB
    with pytest.raises(DataError, match="trailing bytes"):
        from convzoo.data.idx import read_idx

        read_idx(bomb)
    huge = _gzip_bomb(tmp_path / "huge.gz", 0, dims=(100_000, 4096, 4096))
    with pytest.raises(DataError, match=f"over the {MAX_PAYLOAD:,}-byte limit"):
        read_idx_bytes(huge)


def test_the_setup_timing_says_what_it_does_and_stops_at_its_limit(monkeypatch, tmp_path):
    from convzoo.train import tune
    from convzoo.train.tune import candidate_setups, fastest_setup, time_setups

    monkeypatch.setattr(tune, "cache_root", lambda: tmp_path)
    monkeypatch.setattr(tune, "seconds_of", lambda step, calls=1: 20.0 * calls)  # every warm-up step "takes" 20 s
    monkeypatch.setattr(tune, "_step_fn", lambda *a: None)
    setups = candidate_setups("auto", None, True)
    times = time_setups(lambda: None, (1, 28, 28), 10, 8, setups, limit_s=30)
    assert list(times) == setups[:2]  # 40 s after the second warm-up: the rest are not tried
    sizes = []
    monkeypatch.setattr(tune, "time_setups", lambda build, shape, classes, batch, s, **k: sizes.append(batch) or times)
    lines = []
    best = fastest_setup({"model": "x"}, None, (1, 28, 28), 10, 100_000, setups, log=lines.append)
    assert best in setups[:2] and sizes == [tune.MAX_TIMED_BATCH]
    assert "at batch 512 (of 100000)" in lines[0] and "at most 30 s" in lines[0]
    assert "2 of 4 timed" in lines[1]


# ---- 4. tracebacks where one line is promised -------------------------------------------------
@pytest.mark.slow
def test_unwritable_outputs_are_one_line(capsys, tmp_path, tiny_run, tiny_data_dir):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    folder = tmp_path / "a-folder"
    folder.mkdir()
    cases = [
        (["show", "filters", "digits", "-o", blocker / "f.png"], "cannot write"),
        (["show", "filters", "digits", "-o", "/proc/f.png"], "cannot write /proc/f.png"),
        (["export", "digits", "--format", "safetensors", "-o", folder], "is a folder; export writes a file"),
        (["export", "digits", "--format", "onnx", "-o", blocker / "m.onnx"], "cannot write"),
        (["report", tiny_run, "-o", blocker / "r.html"], "cannot write"),
        (["data", "show", "fashion-mnist", "--data-dir", tiny_data_dir, "-n", "4", "-o", folder], "cannot write"),
        (["train", "lenet_modern", "--data-dir", tiny_data_dir, "--out", blocker, "--precision", "fp32",
          "--no-channels-last"], "a file is in the way"),
    ]
    for args, words in cases:
        code, _, err = run(capsys, *args)
        one_line_error(code, err, words)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "a-folder"] and not list(folder.iterdir())


# ---- 5. resume hints and leftovers ------------------------------------------------------------
def _interrupt_at(monkeypatch, epoch_call: int):
    """Ctrl-C during the `epoch_call`-th call of train_epoch in this process."""
    real, calls = trainer_module.Trainer.train_epoch, []

    def train_epoch(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == epoch_call:
            raise KeyboardInterrupt
        return real(self, *args, **kwargs)

    monkeypatch.setattr(trainer_module.Trainer, "train_epoch", train_epoch)


def test_ctrl_c_in_the_first_epoch_suggests_no_resume(capsys, monkeypatch, tmp_path, tiny_data_dir):
    _interrupt_at(monkeypatch, 1)
    code, _, err = run(capsys, "train", "lenet_modern", "--data-dir", tiny_data_dir, "--epochs", "2",
                       "--precision", "fp32", "--no-channels-last", "--out", tmp_path / "run")
    line = one_line_error(code, err, "nothing was saved")
    assert "--resume" not in line and not (tmp_path / "run" / "checkpoint.pt").exists()


@pytest.mark.slow
def test_ctrl_c_while_extending_a_run_suggests_a_command_that_continues_it(capsys, monkeypatch, tmp_path,
                                                                            tiny_run):
    run_dir = tmp_path / "run"
    shutil.copytree(tiny_run, run_dir)  # 2 epochs done
    _interrupt_at(monkeypatch, 2)  # extending to 4: epoch 3 ends, Ctrl-C in epoch 4
    code, _, err = run(capsys, "train", "--resume", run_dir, "--epochs", "4")
    line = one_line_error(code, err, "interrupted after epoch 3", f"--resume {run_dir} --epochs 4")
    monkeypatch.undo()
    suggested = shlex.split(line.split("continue with `")[1].rstrip("`"))
    assert suggested[:2] == ["convzoo", "train"]
    code, _, _ = run(capsys, *suggested[1:])
    assert code == 0 and load_checkpoint(run_dir)["epoch"] == 4  # the hint did continue the run


@pytest.mark.slow
def test_numpy_engine_writes_a_run_directory_and_json(capsys, tmp_path, tiny_data_dir):
    out = tmp_path / "np"
    code, stdout, _ = run(capsys, "train", "lenet_modern", "--engine", "numpy", "--data-dir", tiny_data_dir,
                          "--epochs", "1", "--batch-size", "64", "--lr", "0.05", "--out", out, "--json")
    assert code == 0
    result = json.loads(stdout.strip().splitlines()[-1])
    assert result["run_dir"] == str(out) and result["engine"] == "numpy"
    assert {"config.json", "metrics.jsonl", "curves.png", "eval.json", "checkpoint.pt"} <= {p.name for p in out.iterdir()}
    code, stdout, _ = run(capsys, "eval", out, "--json")
    assert code == 0 and json.loads(stdout)["accuracy"] == result["test_acc"]
    numpy_epoch = json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])
    assert result["test_acc"] == pytest.approx(numpy_epoch["test_acc"], abs=0.011)  # torch reads NumPy's weights
    code, _, err = run(capsys, "train", "--resume", out)
    one_line_error(code, err, "cannot be resumed")


def test_stale_temporaries_are_cleaned_when_the_run_is_next_opened(tmp_path, tiny_run):
    from convzoo.atomic import _HOST

    run_dir = tmp_path / "run"
    shutil.copytree(tiny_run, run_dir)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = run_dir / f".checkpoint.pt.{_HOST}.{dead.pid}.abc123.tmp"  # as a SIGKILLed save leaves it
    live = run_dir / f".checkpoint.pt.{_HOST}.{os.getpid()}.def456.tmp"  # a save in progress
    other = run_dir / ".notes.txt"
    for path in (stale, live, other):
        path.write_bytes(b"partial")
    load_checkpoint(run_dir)
    assert not stale.exists() and live.exists() and other.exists()


@pytest.mark.slow
def test_outputs_get_a_new_files_usual_mode(capsys, tmp_path):
    old = os.umask(0o022)
    try:
        code, _, _ = run(capsys, "export", "digits", "--format", "safetensors", "-o", tmp_path / "d.safetensors")
        assert code == 0
        picture = seven(tmp_path / "seven.png")
        code, _, _ = run(capsys, "kernels", "apply", picture, "-k", "edge", "-o", tmp_path / "edge.png")
        assert code == 0
        code, _, _ = run(capsys, "show", "filters", "digits", "-o", tmp_path / "f.png")
        assert code == 0
    finally:
        os.umask(old)
    for name in ("d.safetensors", "d.json", "edge.png", "f.png"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o644, name


# ---- 6. the README tells the whole truth ------------------------------------------------------
def test_test_holdout_zero_is_refused(capsys, tiny_data_dir):
    code, _, err = run(capsys, "train", "lenet_modern", "--data", "mnist-sample", "--test-holdout", "0")
    one_line_error(code, err, "--test-holdout must be")
    with pytest.raises(DataError, match="--test-holdout must be above 0"):
        load_dataset("fashion-mnist", tiny_data_dir, test_holdout=0)


def test_a_failed_download_suggests_what_works_offline(tmp_path):
    from convzoo.data import dataset_spec, fetch

    with pytest.raises(DataError) as caught:
        fetch(dataset_spec("mnist"), tmp_path / "mnist", mirrors=("http://127.0.0.1:9/",))
    message = str(caught.value)
    assert "without a network" in message and "mnist-sample" in message and "--data-dir" in message
    assert "convzoo data get" not in message  # not the command that just failed
    assert not list((tmp_path / "mnist").glob("*")) if (tmp_path / "mnist").exists() else True


def test_models_matches_names_as_documented(capsys):
    code, out, _ = run(capsys, "models", "lenet")  # an exact name: that model, and only it
    assert code == 0 and out.splitlines()[0].split() == ["name", "lenet"]
    assert "googlenet" not in out and "shufflenet" not in out
    code, out, _ = run(capsys, "models", "lenet*")
    names = [line.split()[0] for line in out.splitlines()[1:]]
    assert code == 0 and names and all(n.startswith("lenet") for n in names)


def test_the_guide_names_only_real_train_flags_and_points_to_help():
    from convzoo.cli import build_parser

    readme = (Path(__file__).resolve().parent.parent / "docs" / "guide.md").read_text()
    assert "`convzoo train --help` lists every option" in readme
    train = build_parser()._subparsers._group_actions[0].choices["train"]
    flags = {s for a in train._actions for s in a.option_strings}
    section = readme.split("`convzoo train --help` lists every option", 1)[1].split("\n\n", 1)[0]
    named = set(re.findall(r"`(--[a-z][a-z-]*)", section))
    assert named and named <= flags | {"--no-channels-last"}, named - flags


def test_write_idx_dataset_helper_still_writes_valid_files(tmp_path):
    """The tests' own data writer goes through the atomic writer now: a sanity check."""
    folder = write_idx_dataset(tmp_path / "d", n_train=20, n_test=10)
    assert len(load_dataset("fashion-mnist", folder).train) == 20
