"""The CLI as a user calls it: exit codes, one-line errors, outputs."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from helpers import run_cli

from convzoo.cli import main


def assert_one_line_error(code, err, *fragments):
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.mark.slow
def test_real_process_exit_code_and_message(tmp_path):
    """One real subprocess: the installed entry point, not just main()."""
    env = {**os.environ, "HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "convzoo", "train", "resnet1000"], capture_output=True,
                          text=True, env=env, timeout=120, check=False)
    assert proc.returncode == 1 and proc.stderr.startswith("convzoo: error: unknown model 'resnet1000'")
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("args, fragments", [
    (["train", "lenett"], ["unknown model 'lenett'", "did you mean lenet"]),
    (["train", "lenet", "--data", "cifar100"], ["unknown dataset 'cifar100'"]),
    (["train", "lenet", "--data", "mnist"], ["dataset mnist not found", "convzoo data get mnist"]),
    (["train", "lenet", "--optimizer", "rmsprop"], ["invalid choice: 'rmsprop'"]),
    (["train", "lenet", "--epochs", "many"], ["argument --epochs: takes an integer, not 'many'"]),
    (["train", "lenet", "--augment", "rotate"], ["unknown augmentation 'rotate'"]),
    (["data", "show", "nope"], ["unknown dataset 'nope'"]),
    (["frobnicate"], ["invalid choice: 'frobnicate'"]),
])
def test_user_mistakes_are_one_line_errors(capsys, tiny_data_dir, args, fragments):
    if "--augment" in args:
        args = [*args, "--data-dir", tiny_data_dir, "--out", "unused"]
    try:
        code = main([str(a) for a in args])
    except SystemExit as exc:  # argparse exits by itself for bad flags
        code = exc.code
    _, err = capsys.readouterr()
    assert_one_line_error(code, err, *fragments)


def test_corrupt_dataset_file(capsys, tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "train-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8bnot really gzip")
    (folder / "train-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8bnot really gzip")
    code, _, err = run_cli(capsys, "train", "lenet", "--data-dir", folder, "--out", tmp_path / "run")
    assert_one_line_error(code, err, "train-images-idx3-ubyte.gz", "corrupt gzip")
    assert not (tmp_path / "run").exists()  # nothing half-written


def test_predict_rejects_non_images_and_foreign_checkpoints(capsys, tiny_run, tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("I am not a picture")
    code, _, err = run_cli(capsys, "predict", tiny_run, text)
    assert_one_line_error(code, err, "notes.png", "not a PNG or JPEG")
    import torch

    torch.save({"state": 1}, tmp_path / "other.pt")
    code, _, err = run_cli(capsys, "predict", tmp_path / "other.pt", text)
    assert_one_line_error(code, err, "not a convzoo checkpoint")
    code, _, err = run_cli(capsys, "eval", tmp_path / "missing-run")
    assert_one_line_error(code, err, "no such checkpoint")


@pytest.mark.slow
def test_train_eval_predict_round_trip(capsys, tmp_path, tiny_data_dir):
    from PIL import Image

    out = tmp_path / "run"
    code, stdout, _ = run_cli(capsys, "train", "lenet", "--data-dir", tiny_data_dir, "--epochs", "1",
                              "--batch-size", "32", "--lr", "0.5", "--out", out, "--precision", "fp32",
                              "--json")
    assert code == 0
    result = json.loads(stdout.strip().splitlines()[-1])
    assert result["run_dir"] == str(out) and 0 <= result["test_acc"] <= 1
    code, stdout, _ = run_cli(capsys, "eval", out, "--json")
    evaluation = json.loads(stdout)
    assert code == 0 and evaluation["accuracy"] == pytest.approx(result["test_acc"])
    assert len(evaluation["confusion"]) == 10
    from PIL import ImageDraw

    image = tmp_path / "shirt.png"
    picture = Image.new("L", (50, 40), 255)  # a dark garment on white (a flat picture is "empty image")
    ImageDraw.Draw(picture).rectangle((12, 6, 38, 34), fill=40)
    picture.save(image)
    code, stdout, _ = run_cli(capsys, "predict", out, image, "--top-k", "2", "--json")
    top = json.loads(stdout)[0]["top"]
    assert code == 0 and len(top) == 2 and top[0]["probability"] >= top[1]["probability"]


@pytest.mark.slow
def test_resume_from_the_cli(capsys, tmp_path, tiny_data_dir):
    out = tmp_path / "run"
    args = ["train", "lenet_modern", "--data-dir", tiny_data_dir, "--epochs", "1", "--out", out]
    assert run_cli(capsys, *args)[0] == 0
    code, _, err = run_cli(capsys, *args)
    assert_one_line_error(code, err, "already holds a run", "--resume")
    code, stdout, _ = run_cli(capsys, "train", "--resume", out, "--epochs", "2")
    assert code == 0 and "run saved in" in stdout
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 2


def test_models_and_data_listing(capsys, tiny_data_dir, tmp_path):
    code, out, _ = run_cli(capsys, "models", "--json")
    rows = {r["name"]: r for r in json.loads(out)}
    assert code == 0 and rows["lenet"]["params"] == 61_706
    code, out, _ = run_cli(capsys, "models", "lenet*")
    assert code == 0 and "61,706" in out
    code, out, _ = run_cli(capsys, "data", "list")
    assert code == 0 and "fashion-mnist" in out and "cifar10" in out
    grid = tmp_path / "grid.png"
    code, out, _ = run_cli(capsys, "data", "show", "fashion-mnist", "--data-dir", tiny_data_dir, "-o", grid,
                           "-n", "8")
    assert code == 0 and grid.read_bytes()[:4] == b"\x89PNG"
    code, out, _ = run_cli(capsys, "data", "get", "fashion-mnist", "--data-dir", tiny_data_dir)
    assert code == 0 and str(tiny_data_dir) in out


def test_weights_only_checkpoints_cannot_be_resumed(capsys):
    code, _, err = run_cli(capsys, "train", "--resume", "digits")
    assert_one_line_error(code, err, "holds weights only", "cannot be resumed")


def test_file_writing_commands_print_json(capsys, tmp_path):
    import json

    code, out, _ = run_cli(capsys, "data", "list", "--json")
    assert code == 0 and {"fashion-mnist", "mnist-sample"} <= {d["name"] for d in json.loads(out)}
    code, out, _ = run_cli(capsys, "show", "filters", "digits", "-o", tmp_path / "f.png", "--json")
    assert code == 0 and json.loads(out) == {"wrote": str(tmp_path / "f.png")} and (tmp_path / "f.png").is_file()
    code, out, _ = run_cli(capsys, "export", "digits", "--format", "safetensors", "-o", tmp_path / "d.safetensors",
                           "--json")
    written = json.loads(out)
    assert code == 0 and written["bytes"] == (tmp_path / "d.safetensors").stat().st_size


def test_every_leaf_command_takes_json():
    import argparse

    from convzoo.cli import build_parser

    def leaves(parser, prefix):
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            yield prefix, parser
            return
        for name, sub in subs[0].choices.items():
            yield from leaves(sub, f"{prefix} {name}")

    found = dict(leaves(build_parser(), "convzoo"))
    assert len(found) > 30 and "convzoo bench peak" in found
    missing = [name for name, p in found.items() if not any("--json" in a.option_strings for a in p._actions)]
    assert missing == []
