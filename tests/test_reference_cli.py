"""`convzoo kernels ...` and `convzoo bench reference` as a user calls them (in-process)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from convzoo.cli import main
from convzoo.reference import KERNELS


@pytest.fixture()
def picture(tmp_path):
    stripes = (np.add.outer(np.arange(40), np.arange(60)) % 16 < 8).astype(np.uint8) * 200
    path = tmp_path / "stripes.jpg"
    Image.fromarray(stripes).convert("RGB").save(path)  # colour input is turned to grayscale
    return path


def test_kernels_list(capsys):
    assert main(["kernels", "list"]) == 0
    out = capsys.readouterr().out
    for name in KERNELS:
        assert name in out
    assert "Laplacian" in out


def test_kernels_apply_writes_a_png(picture, tmp_path, capsys):
    output = tmp_path / "out" / "edges.png"
    output.parent.mkdir()
    assert main(["kernels", "apply", str(picture), "--kernel", "edge", "-o", str(output)]) == 0
    with Image.open(output) as written:
        assert written.format == "PNG"
        assert written.size[0] > 2 * 60  # two panels
    assert sorted(p.name for p in output.parent.iterdir()) == ["edges.png"]  # no temporary left
    assert str(output) in capsys.readouterr().out


@pytest.mark.parametrize("make_args, message", [
    (lambda pic, tmp: [str(pic), "--kernel", "edgy", "-o", str(tmp / "o.png")], "did you mean edge"),
    (lambda pic, tmp: [str(tmp / "notes.txt"), "--kernel", "edge", "-o", str(tmp / "o.png")],
     "not a PNG or JPEG image"),
    (lambda pic, tmp: [str(tmp / "missing.png"), "--kernel", "edge", "-o", str(tmp / "o.png")],
     "no such file"),
    (lambda pic, tmp: [str(pic), "--kernel", "edge", "-o", str(tmp / "nowhere" / "o.png")],
     "does not exist"),
    (lambda pic, tmp: [str(pic), "--kernel", "edge", "-o", str(tmp / "o.jpg")], ".png"),
])
def test_kernels_apply_user_errors_are_one_line(picture, tmp_path, capsys, make_args, message):
    (tmp_path / "notes.txt").write_text("not a picture\n")
    assert main(["kernels", "apply", *make_args(picture, tmp_path)]) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith("convzoo: error: ") and captured.err.count("\n") == 1, captured.err
    assert message in captured.err
    assert not (tmp_path / "o.png").exists()


def test_bench_reference_quick(capsys):
    assert main(["bench", "reference", "--quick", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    for needle in ("numpy", "torch", "loop", "peak RSS"):
        assert needle in out
    assert main(["bench", "reference", "--quick", "--repeats", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["repeats"] == 2 and list(result["layers"]) == ["tiny"]
    assert [(r["layer"], r["pass_name"]) for r in result["rows"]] == [("tiny", "forward"), ("tiny", "backward")]
    for row in result["rows"]:
        assert all(row[k] > 0 for k in ("numpy_ms", "torch_ms", "loop_ms"))
        assert row["numpy_over_torch"] == pytest.approx(row["numpy_ms"] / row["torch_ms"])