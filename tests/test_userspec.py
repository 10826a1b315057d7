"""The user's own network named as FILE.py:Class or package.module:Class (models/userspec.py):
typed constructor arguments, a record a checkpoint can carry, and one line for each mistake."""

from __future__ import annotations

import sys

import pytest
import torch
from torch import nn

from convzoo.errors import ConvzooError
from convzoo.models.userspec import build_user_model, is_user_spec, rebuild_from_record

TINY = '''
from torch import nn


class TinyNet(nn.Module):
    """Two convolutions and a linear head."""

    def __init__(self, num_classes: int = 10, in_channels: int = 1, width=8):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1))
        self.head = nn.Linear(2 * width, num_classes)

    def forward(self, x):
        return self.head(self.features(x).flatten(1))


class Wider(TinyNet):
    def __init__(self, num_classes: int = 10, in_channels: int = 1, width=8):
        super().__init__(num_classes, in_channels, 2 * width)


class Needs(nn.Module):
    def __init__(self, depth: int, width: int, bias: bool = False):
        super().__init__()
        self.layer = nn.Linear(width, depth, bias=bias)


def small(width: int = 4):
    return TinyNet(width=width)


def number():
    return 3


net = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
NOT_A_MODEL = "text"
'''


def write_tiny(folder, text=TINY, name="tiny.py"):
    path = folder / name
    path.write_text(text)
    return path


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))  # importing the user's file adds its folder
    for name in [n for n in sys.modules if n == "tiny" or n.startswith("tiny_")]:
        monkeypatch.delitem(sys.modules, name)
    return write_tiny(tmp_path)


def test_spec_forms_are_told_apart_from_names_and_checkpoints():
    assert is_user_spec("tiny.py:TinyNet") and is_user_spec("nets.small:TinyNet") and is_user_spec("tiny.py")
    assert not any(is_user_spec(t) for t in ("lenet", "zoo:lenet_modern", "runs/tiny", "digits", "run.pt"))


def test_class_with_typed_args_and_data_filled_arguments(tiny):
    model, record = build_user_model("tiny.py:TinyNet", ["width=4"],
                                     context={"num_classes": 3, "in_channels": 2, "input_size": (28, 28)})
    assert model(torch.zeros(1, 2, 28, 28)).shape == (1, 3)
    assert record["kwargs"] == {"num_classes": 3, "in_channels": 2, "width": 4}  # input_size: not taken
    assert record["class"] == "tiny.TinyNet" and record["spec"] == "tiny.py:TinyNet"
    import hashlib
    assert record["sha256"] == hashlib.sha256(tiny.read_bytes()).hexdigest()
    torch.save(record, tiny.parent / "r.pt")  # plain data: loads without unpickling code
    assert torch.load(tiny.parent / "r.pt", weights_only=True) == record


def test_function_instance_and_module_forms(tiny):
    model, record = build_user_model("tiny.py:small", ["width=2"])
    assert record["kind"] == "function" and model.head.in_features == 4
    _, record = build_user_model("tiny.py:net", [])
    assert record["kind"] == "instance"
    model, record = build_user_model("tiny:TinyNet", [])  # package.module form, from the working directory
    assert isinstance(model, nn.Module) and record["class"].endswith("TinyNet")


@pytest.mark.parametrize("spec, args, message", [
    ("tiny.py", [], "name the model too"),
    ("missing.py:Net", [], "missing.py: no such file"),
    ("tiny.py:TinyNt", [], "did you mean TinyNet"),
    ("tiny.py:NOT_A_MODEL", [], "not an nn.Module class"),
    ("tiny.py:number", [], "returned an int, not an nn.Module"),
    ("tiny.py:Needs", ["bias=yes"], "needs depth, width"),
    ("tiny.py:TinyNet", ["width=wide"], "width expects an int"),
    ("tiny.py:TinyNet", ["wdth=3"], "did you mean width"),
    ("no_such_module.sub:Net", [], "no such module"),
])
def test_bad_specs_are_one_line(tiny, spec, args, message):
    with pytest.raises(ConvzooError, match=message) as caught:
        build_user_model(spec, args)
    assert "\n" not in str(caught.value)


def test_syntax_error_names_file_and_line(tiny):
    write_tiny(tiny.parent, "from torch import nn\n\nclass Net(nn.Module:\n    pass\n", "broken.py")
    with pytest.raises(ConvzooError, match=r"broken.py:3: syntax error"):
        build_user_model("broken.py:Net", [])


def test_rebuild_checks_class_and_hash(tiny):
    model, record = build_user_model("tiny.py:TinyNet", [])
    state = model.state_dict()
    rebuilt, notes = rebuild_from_record(record, "tiny.py", state)
    assert notes == [] and torch.equal(rebuilt.head.weight, model.head.weight)
    changed = dict(record, sha256="0" * 64)
    _, notes = rebuild_from_record(changed, "tiny.py", state)
    assert len(notes) == 1 and "tiny.py has changed since training" in notes[0]
    with pytest.raises(ConvzooError, match="weights do not fit tiny.py:small"):
        rebuild_from_record(record, "tiny.py:small", state)


def test_a_record_names_only_what_the_code_defines(tiny):
    _, record = build_user_model("tiny.py:TinyNet", [])
    with pytest.raises(ConvzooError, match="not defined in tiny.py"):
        rebuild_from_record(dict(record, name="nn"), "tiny.py")


def test_a_checkpoint_naming_a_module_imports_nothing_without_code(tiny):
    """The library's one path (model_for_payload): a record naming evil.py or os:system is data."""
    from convzoo.train.checkpoint import model_for_payload

    write_tiny(tiny.parent, "from pathlib import Path\nPath('IMPORTED').write_text('x')\n", "evil.py")
    for record in ({"name": "Net", "class": "evil.Net", "spec": "evil.py:Net"},
                   {"name": "system", "class": "os.system", "spec": "os:system"}):
        payload = {"model": {"custom": True, "kwargs": {}, **record}, "state_dict": {}}
        with pytest.raises(ConvzooError, match="add --code"):
            model_for_payload(payload, "run")
        with pytest.raises(ConvzooError):
            model_for_payload(payload, "run", code="tiny.py")  # the user's file: only what it defines
    assert not (tiny.parent / "IMPORTED").exists() and "evil" not in sys.modules
