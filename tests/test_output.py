"""One output path (cli/output.py): a command's `--json` holds every number its text shows.

Each command runs twice, as text and with --json; every number in the text (1,234, 0.9812, 12.3M,
1.2e-05, 97.5 %) must be some number of the JSON (its values, and the numbers written inside its
strings, such as an input "1x28x28") to the text's own precision. Names that carry digits
(resnet18, conv1, layer4.1) are words, not numbers."""

from __future__ import annotations

import json
import math
import re

import pytest
from helpers import run_cli

from convzoo.cli.output import Result, show
from convzoo.tables import Grid

# A number: not glued to a word before it (conv1, layer4.1); x may join sizes (1x28x28); an optional
# K/M/G/T/P unit right after it (human(): 12.3M); a % after it may mean the JSON holds a fraction.
# A KiB/MiB/GiB after it may scale it (human_bytes) or not (a key named peak_rss_mib), as may a
# unit with a prefix (54.42 MFLOP, 180 GFLOP/s).
NUMBER = re.compile(r"(?<![A-Za-wyz_\d.])(-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:e[+-]?\d+)?)([KMGTP])?"
                    r"(?![a-wyz_\d])(\s?%|\s[KMG]iB|\s[KMGTP](?=[A-Z]))?")
UNITS = {"K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15}
BINARY = {"K": 2**10, "M": 2**20, "G": 2**30}


def text_numbers(text: str) -> list[tuple[str, list[tuple[float, float]]]]:
    """(as written, its readings) for every number in `text`: a reading is (value, half its last
    digit's unit); a percentage also reads as a fraction, 58.6 KiB also as bytes."""
    found = []
    for m in NUMBER.finditer(text):
        written, unit, after = m.group(1).replace(",", ""), m.group(2), (m.group(3) or "").strip()
        mantissa, _, exponent = written.partition("e")
        scale = UNITS.get(unit, 1.0) * 10 ** int(exponent or 0)
        half = 0.5 * 10 ** -len(mantissa.partition(".")[2]) * scale
        value = float(mantissa) * scale
        readings = [(value, half)]
        if after == "%":
            readings.append((value / 100, half / 100))
        elif after:
            factor = BINARY[after[0]] if after.endswith("iB") else UNITS[after[0]]
            readings.append((value * factor, half * factor))
        found.append((m.group(0), readings))
    return found


def json_numbers(data) -> list[float]:
    """Every number in the JSON: its numeric values and the numbers inside its strings and keys."""
    if isinstance(data, dict):
        return [n for k, v in data.items() for n in json_numbers(k) + json_numbers(v)]
    if isinstance(data, list):
        return [n for v in data for n in json_numbers(v)]
    if isinstance(data, bool) or data is None:
        return []
    if isinstance(data, (int, float)):
        return [float(data)] if math.isfinite(data) else []
    return [value for _, readings in text_numbers(str(data)) for value, _ in readings[:1]]


def missing_numbers(text: str, data) -> list[str]:
    """The numbers of `text` that no number of `data` rounds to."""
    have = json_numbers(data)

    def matched(readings):
        return any(abs(h - value) <= half * (1 + 1e-9) + 1e-12 for value, half in readings for h in have)

    return [written for written, readings in text_numbers(text) if not matched(readings)]


def _bar_png() -> bytes:
    """A white vertical bar on black, 28x28: something a digit classifier answers with some spread."""
    import io

    from PIL import Image, ImageDraw

    image = Image.new("L", (28, 28))
    ImageDraw.Draw(image).rectangle((12, 4, 15, 23), fill=255)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def both(capsys, *args):
    code, text, _ = run_cli(capsys, *args)
    assert code == 0, text
    code, out, _ = run_cli(capsys, *args, "--json")
    assert code == 0, out
    return text, json.loads(out)


def test_the_checker_finds_a_number_the_json_lacks():
    data = {"name": "resnet18", "params": 11689512, "acc": 0.98123, "input": "3x224x224", "rate": 0.25}
    assert missing_numbers("resnet18 11,689,512 params (11.7M), acc 0.9812 on 3x224x224, 25 %", data) == []
    assert missing_numbers("acc 0.9813", data) == ["0.9813"]
    assert missing_numbers("layer4.1 ran 7 times", data) == ["7"]
    assert missing_numbers("12.4M", data) == ["12.4M"]
    assert missing_numbers("11,415.5 KiB", data) == [] and missing_numbers("2,2,2", data) == ["2", "2", "2"]
    assert missing_numbers("11.69 MFLOP, 0.25 GFLOP/s", data) == []


def test_show_prints_one_result_both_ways(capsys):
    result = Result({"n": 1234, "rows": [[1, 0.5]]}, ["total 1,234", Grid(["a", "b"], [[1, "0.50"]])], code=3)
    assert show(result) == 3
    text = capsys.readouterr().out
    assert "total 1,234" in text and missing_numbers(text, result.data) == []
    assert show(result, as_json=True) == 3
    assert json.loads(capsys.readouterr().out) == result.data


COMMANDS = [
    ("models",),
    ("models", "lenet*"),
    ("models", "lenet"),
    ("models", "resnet18"),
    ("summary", "lenet"),
    ("summary", "resnet18", "--depth", "2"),
    ("complexity",),
    ("complexity", "--models", "lenet,alexnet_small,vgg11"),
    ("eval", "digits", "--data", "mnist-sample"),
    ("receptive-field", "lenet"),
    ("receptive-field", "resnet18"),
    ("data", "list"),
    ("zoo", "list"),
    ("study", "list"),
    ("kernels", "list"),
    ("models", "lenet*", "--macs"),
    ("export", "digits", "--format", "safetensors", "-o", "{tmp}/digits.safetensors"),
    ("predict", "digits", "{tmp}/bar.png"),
]


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_json_holds_every_number_of_the_text(capsys, tmp_path, args):
    (tmp_path / "bar.png").write_bytes(_bar_png())
    text, data = both(capsys, *(a.replace("{tmp}", str(tmp_path)) for a in args))
    assert text_numbers(text), "the text shows no number: nothing is checked"
    assert missing_numbers(text, data) == []


def rendered_once(*args):
    """A measuring command run once and its one result shown both ways (two runs would measure twice)."""
    from convzoo.cli import _parse, build_parser

    parsed = _parse(build_parser(), [str(a) for a in args])
    result = parsed.func(parsed)
    return result.table().text(), json.loads(json.dumps(result.to_dict()))


@pytest.mark.parametrize("args", [  # each well under a second
    ("bench", "peak", "--size", "64", "--repeats", "1"),
    ("bench", "reference", "--quick", "--repeats", "1"),
    ("bench", "infer", "lenet", "--calls", "3", "--batches", "1", "--batch-size", "4"),
    ("bench", "data", "--data", "mnist-sample", "--rounds", "1", "--batch-size", "1024"),
    # they report their fitting seconds: two runs would differ there
    ("baseline", "knn", "--data", "mnist-sample", "--train-size", "300", "--out", "{tmp}/knn"),
    ("baseline", "cv", "knn", "--data", "mnist-sample", "--train-size", "300", "--grid", "k=1,3", "--folds", "2"),
], ids=" ".join)
def test_a_measuring_commands_json_holds_every_number_of_its_text(tmp_path, args):
    text, data = rendered_once(*(a.replace("{tmp}", str(tmp_path)) for a in args))
    assert text_numbers(text) and missing_numbers(text, data) == []


@pytest.mark.slow
def test_train_json_is_the_json_alone_and_holds_the_text(capsys, tmp_path, tiny_data_dir):
    common = ["train", "lenet_modern", "--data", "fashion-mnist", "--data-dir", tiny_data_dir, "--epochs", "1",
              "--no-progress", "--threads", "1"]
    code, out, err = run_cli(capsys, *common, "--out", tmp_path / "json", "--json")
    assert code == 0 and "epoch" in err  # the engine's log went to stderr
    assert json.loads(out)["epochs"] == 1  # stdout is one JSON document
    text, data = rendered_once(*common, "--out", tmp_path / "text", "--count")
    assert "compute:" in text and missing_numbers(text, data) == []
