"""The user's own network through the CLI (docs/your-own-model.md): a checkpoint is data, so a user
model's checkpoint is rebuilt only from the code named by --code; a checkpoint that names another
module (os:system, a module that writes a file when imported) makes every command import nothing."""

from __future__ import annotations

import sys

import pytest
import torch
from helpers import run_cli
from PIL import Image
from test_userspec import write_tiny

from convzoo.data import dataset_spec
from convzoo.train.checkpoint import save_checkpoint

EVIL = """from pathlib import Path
Path(__file__).with_name("IMPORTED").write_text("a checkpoint made convzoo import me")
from torch import nn
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(784, 10)
"""


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """tiny.py (the user's code) and evil.py (imported, it writes IMPORTED) in the working directory."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    for name in [n for n in sys.modules if n in ("tiny", "evil") or n.startswith(("tiny_", "evil_"))]:
        monkeypatch.delitem(sys.modules, name)
    write_tiny(tmp_path)
    write_tiny(tmp_path, EVIL, "evil.py")
    digit = Image.new("L", (28, 28), 0)
    digit.paste(255, (12, 4, 16, 24))  # a "1": ink, so there is something to classify
    digit.save(tmp_path / "digit.png")
    return tmp_path


def hostile_checkpoint(folder, record: dict):
    """A checkpoint as `convzoo train` writes it, its model record edited to name other code."""
    spec = dataset_spec("fashion-mnist")
    data = {"name": spec.name, "classes": list(spec.classes), "shape": [1, 28, 28], "mean": [0.28],
            "std": [0.35], "train": 600, "test": 200}
    weights = {"features.0.weight": torch.zeros(8, 1, 3, 3)}
    return save_checkpoint(folder / "run" / "checkpoint.pt", {
        "model": {"custom": True, "kind": "class", "kwargs": {}, **record}, "data": data,
        "task": "classification", "state_dict": weights, "history": [HISTORY], "epoch": 1, "step": 1,
        "config": {"data": "fashion-mnist"}, "optimizer": {}, "rng": {}})


WIDER = """

class Wider(TinyNet):
    def __init__(self, num_classes: int = 10, in_channels: int = 1, width=8):
        super().__init__(num_classes, in_channels, 2 * width)
"""
HISTORY = {"epoch": 1, "train_loss": 2.0, "train_acc": 0.2, "test_loss": 2.0, "test_acc": 0.2, "lr": 0.1,
           "examples_per_sec": 100.0, "seconds": 1.0}
COMMANDS = [
    ("eval", "run"), ("predict", "run", "digit.png"), ("export", "run", "--format", "onnx", "-o", "m.onnx"),
    ("report", "run"), ("show", "filters", "run"), ("show", "confusion", "run"), ("summary", "run"),
    ("receptive-field", "run"), ("bench", "infer", "run"), ("train", "--resume", "run"),
    ("segment", "run", "digit.png", "-o", "mask.png"), ("demo", "--checkpoint", "run", "--port", "0"), ("export", "run", "--format", "safetensors", "-o", "m.safetensors"),
]


@pytest.mark.slow
@pytest.mark.parametrize("record", [
    {"name": "Net", "class": "evil.Net", "spec": "evil.py:Net"},
    {"name": "system", "class": "os.system", "spec": "os:system"},
])
def test_a_checkpoint_that_names_code_imports_nothing(folder, capsys, record):
    hostile_checkpoint(folder, record)
    for command in COMMANDS:
        code, _, err = run_cli(capsys, *command)
        assert code == 1 and "add --code" in err and len(err.strip().splitlines()) == 1, (command, err)
    # With --code the user's own file is imported, and only what it defines may be named.
    for command in (("eval", "run"), ("summary", "run"), ("predict", "run", "digit.png")):
        code, _out, err = run_cli(capsys, *command, "--code", "tiny.py")
        assert code == 1 and len(err.strip().splitlines()) == 1, (command, err)
    assert not (folder / "IMPORTED").exists() and "evil" not in sys.modules


def docs_tiny() -> str:
    """docs/your-own-model.md's tiny.py, as a reader copies it."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "your-own-model.md").read_text()
    return next(b for b in re.findall(r"```python\n(.*?)```", text, re.DOTALL) if "class TinyNet" in b)


@pytest.mark.slow
def test_new_user_path(folder, capsys, tiny_data_dir):
    """The issue's walk-through with the docs' tiny.py: train tiny.py:TinyNet, then every command on its
    run with --code, and one line naming --code without it."""
    write_tiny(folder, docs_tiny())
    code, out, err = run_cli(capsys, "train", "tiny.py:TinyNet", "--data", "fashion-mnist", "--data-dir",
                             tiny_data_dir, "--epochs", "1", "--train-size", "300", "--precision", "fp32",
                             "--threads", "1", "--no-channels-last", "--out", "run", "--model-arg", "width=4")
    assert code == 0, err
    record = torch.load(folder / "run" / "checkpoint.pt", weights_only=True)["model"]
    assert record["spec"] == "tiny.py:TinyNet" and record["kwargs"]["width"] == 4 and len(record["sha256"]) == 64
    for command, wrote in [(("eval", "run"), None), (("predict", "run", "digit.png"), None),
                           # ONNX goes through the same loader; its exporter alone takes ~15 s (test_export.py)
                           (("export", "run", "--format", "safetensors", "-o", "m.safetensors"), "m.safetensors"),
                           (("report", "run"), "run/report.html"), (("summary", "run"), None)]:
        code, out, err = run_cli(capsys, *command)
        assert code == 1 and "--code tiny.py" in err and len(err.strip().splitlines()) == 1, (command, err)
        code, out, err = run_cli(capsys, *command, "--code", "tiny.py")
        assert code == 0 and err.strip() == "", (command, err)
        assert wrote is None or (folder / wrote).is_file()
    code, out, err = run_cli(capsys, "train", "--resume", "run", "--epochs", "2", "--code", "tiny.py")
    assert code == 0 and [r["epoch"] for r in torch.load(folder / "run" / "checkpoint.pt",
                                                         weights_only=True)["history"]] == [1, 2]
    code, out, err = run_cli(capsys, "show", "curves", "run", "-o", "curves.png")  # no model needed
    assert code == 0 and (folder / "curves.png").is_file()
    code, out, err = run_cli(capsys, "summary", "tiny.py:TinyNet", "--input", "1x28x28", "--model-arg", "width=4")
    assert code == 0 and "features.0" in out
    # The code changed since training: a warning that names it when the weights still fit.
    write_tiny(folder, docs_tiny() + WIDER)
    code, out, err = run_cli(capsys, "eval", "run", "--code", "tiny.py")
    assert code == 0 and "warning: tiny.py has changed since training" in err
    # Another class whose weights do not fit: refused in one line.
    code, out, err = run_cli(capsys, "eval", "run", "--code", "tiny.py:Wider")
    assert code == 1 and "do not fit tiny.py:Wider" in err and "trained with tiny.TinyNet" in err
    assert len(err.strip().splitlines()) == 1


def test_output_that_does_not_fit_the_data_says_both_shapes(folder, capsys, tiny_data_dir):
    write_tiny(folder, "from torch import nn\n\ndef flat():\n    return nn.Sequential(nn.Flatten(), nn.Linear(784, 3))\n",
               "flat.py")
    code, _, err = run_cli(capsys, "train", "flat.py:flat", "--data", "fashion-mnist", "--data-dir",
                             tiny_data_dir, "--epochs", "1", "--train-size", "100", "--threads", "1", "--out", "r")
    assert code == 1 and "output shape (2, 3)" in err and "(2, 10)" in err
    code, _out, err = run_cli(capsys, "train", "tiny.py:TinyNet", "--data", "fashion-mnist", "--data-dir",
                             tiny_data_dir, "--model-arg", "nope=1", "--out", "r")
    assert code == 1 and "unknown option 'nope'" in err and not (folder / "r").exists()


@pytest.mark.slow
def test_demo_serves_the_users_model_untrained_and_trained(folder, capsys):
    """`convzoo demo --model tiny.py:TinyNet [--checkpoint RUN]`: the model built from the user's file,
    served alone (serve.models.LiveModel, the in-memory model of `convzoo.explore`)."""
    import argparse

    import httpx

    from convzoo.cli.demo import _live_model
    from convzoo.models.userspec import build_user_model
    from convzoo.serve import create_app
    from convzoo.serve.server import ServerThread

    model, record = build_user_model("tiny.py:TinyNet", [], context={"num_classes": 10, "in_channels": 1})
    hostile_checkpoint(folder, {})  # a run's data description ...
    payload = torch.load(folder / "run" / "checkpoint.pt", weights_only=True)
    save_checkpoint(folder / "run" / "checkpoint.pt", {**payload, "model": record, "state_dict": model.state_dict()})
    flags = {"model": "tiny.py:TinyNet", "model_arg": [], "code": None, "data": None}
    for checkpoint, classes in ((None, "0"), ("run", "T-shirt/top")):
        live = _live_model(argparse.Namespace(**flags, checkpoint=checkpoint))
        with ServerThread(create_app(model=live)) as url, httpx.Client(base_url=url, timeout=30) as client:
            graph = client.get("/api/graph").json()
            info = client.get("/api/model").json()
        assert graph["input_shape"] == [1, 28, 28] and any(n["label"].startswith("features") for n in graph["nodes"]
                                                           if n.get("label"))
        assert info["classes"][0] == classes
    code, _out, err = run_cli(capsys, "demo", "--code", "tiny.py", "--port", "0")
    assert code == 1 and "give --checkpoint RUN" in err


@pytest.mark.slow  # summary's first FLOP count starts torch's dispatch machinery: seconds
def test_the_spec_goes_wherever_a_model_name_goes(folder, capsys):
    from convzoo.selection.grid import parse_grid

    assert parse_grid("tiny.py:TinyNet", ["width=4,8", "lr=0.05,0.1"]) == {"width": [4, 8], "lr": [0.05, 0.1]}
    for command, shown in [
        (("summary", "tiny.py:TinyNet", "--model-arg", "width=4"), "features.3"),
        (("receptive-field", "tiny.py:TinyNet"), "features.4"),
        (("complexity", "--models", "tiny.py:TinyNet@1x32x32,lenet"), "tiny.py:TinyNet"),
        (("bench", "infer", "tiny.py:small", "--calls", "2", "--batches", "1", "--batch-size", "4"), "fp32"),
        (("show", "filters", "tiny.py:TinyNet", "-o", "f.png"), "f.png"),
    ]:
        code, out, err = run_cli(capsys, *command)
        assert code == 0 and shown in out, (command, err)
    code, out, err = run_cli(capsys, "summary", "tiny.py:net", "--input", "3x32x32")
    assert code == 1 and "3x32x32" in err and len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_a_model_trained_from_python_is_rebuilt_by_code(folder, capsys, tiny_data_dir):
    """Trainer(config, model=TinyNet()) from Python: the record names tiny.py and its hash, so
    `--code tiny.py` rebuilds it; a class whose arguments were not recorded says how to load it."""
    from convzoo.train import TrainConfig, Trainer

    sys.path.insert(0, str(folder))  # the user's script imports its own tiny.py (the fixture restores sys.path)
    from tiny import Needs, TinyNet

    config = TrainConfig(data_dir=str(tiny_data_dir), epochs=1, train_size=200, out="py", progress=False,
                         precision="fp32", channels_last=False, threads=1)
    Trainer(config, model=TinyNet()).fit()
    record = torch.load(folder / "py" / "checkpoint.pt", weights_only=True)["model"]
    assert record["file"] == "tiny.py" and record["class"] == "tiny.TinyNet" and len(record["sha256"]) == 64
    code, out, err = run_cli(capsys, "eval", "py")
    assert code == 1 and "add --code tiny.py" in err
    code, out, err = run_cli(capsys, "eval", "py", "--code", "tiny.py")
    assert code == 0 and "accuracy" in out and err == ""
    save_checkpoint(folder / "py" / "checkpoint.pt", {**torch.load(folder / "py" / "checkpoint.pt", weights_only=True),
                                                      "model": {**record, "name": Needs.__name__}})
    code, out, err = run_cli(capsys, "eval", "py", "--code", "tiny.py")
    assert code == 1 and "does not record" in err and len(err.strip().splitlines()) == 1
