"""Pictures: every `convzoo show` command writes a PNG of the expected size from a tiny trained
run; activation maximisation raises its target; user mistakes are one-line errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

from convzoo.analysis.maximize import deepdream, maximize
from convzoo.analysis.runplots import evaluate_run, run_confusion
from convzoo.analysis.visualize import open_subject
from convzoo.cli import main
from convzoo.data import locate, read_idx, write_idx
from convzoo.errors import ConvzooError
from convzoo.models import list_models

DPI = 100


@pytest.fixture(scope="session")
def fashion_run(tmp_path_factory):
    """lenet_modern trained 1 epoch on 500 real Fashion-MNIST images (200 test), fp32, seeded."""
    from convzoo.train import TrainConfig, Trainer

    files = locate("fashion-mnist")  # the system copy; no download in tests
    folder = tmp_path_factory.mktemp("fashion-500")
    for prefix, count in (("train", 500), ("t10k", 200)):
        for kind in ("images-idx3", "labels-idx1"):
            name = f"{prefix}-{kind}-ubyte.gz"
            write_idx(folder / name, read_idx(files[name])[:count])
    out = tmp_path_factory.mktemp("runs") / "fashion"
    config = TrainConfig(model="lenet_modern", data="fashion-mnist", data_dir=str(folder), epochs=1,
                         batch_size=50, lr=0.1, precision="fp32", out=str(out), progress=False)
    Trainer(config).fit()
    return out


@pytest.fixture(scope="session")
def shoe(tmp_path_factory, fashion_run):
    """A test image as a user would have it: an 8-bit PNG file."""
    path = tmp_path_factory.mktemp("images") / "shoe.png"
    Image.fromarray(read_idx(locate("fashion-mnist")["t10k-images-idx3-ubyte.gz"])[0]).save(path)
    return path


def _png_size(path) -> tuple[int, int]:
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(path) as img:
        img.load()  # a truncated file fails here
        return img.size


def _grid(cols: int, rows: int, cell: float) -> tuple[int, int]:
    """The size `image_grid` draws: cell inches per image plus a title line per row."""
    return round(cols * cell * DPI), round(rows * (cell + 0.25) * DPI)


def test_filters_of_the_first_layer_and_of_a_named_layer(fashion_run, tmp_path, capsys):
    out = tmp_path / "filters.png"
    assert main(["show", "filters", str(fashion_run), "-o", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    assert _png_size(out) == _grid(6, 1, 1.2)  # 6 filters of 5x5 in one row
    out = tmp_path / "conv2.png"
    assert main(["show", "filters", str(fashion_run), "--layer", "4", "--max", "4", "-o", str(out)]) == 0
    assert _png_size(out) == _grid(6, 4, 0.9)  # 4 of the 16 filters x their 6 input channels
    if "resnet20" in list_models():  # an untrained RGB model: one colour picture per filter
        assert main(["show", "filters", "resnet20", "--max", "8", "-o", str(tmp_path / "rgb.png")]) == 0
        assert _png_size(tmp_path / "rgb.png") == _grid(8, 1, 1.2)


def test_features_beside_the_input(fashion_run, shoe, tmp_path):
    out = tmp_path / "features.png"
    assert main(["show", "features", str(fashion_run), str(shoe), "-o", str(out)]) == 0
    # two stages (6 maps: one row of 8, 16 maps: two rows), input in two extra columns
    assert _png_size(out) == (round(1.1 * 10 * DPI), round((1.2 * 3 + 0.4) * DPI))
    out = tmp_path / "one.png"
    assert main(["show", "features", str(fashion_run), str(shoe), "--layers", "1", "-o", str(out)]) == 0
    assert _png_size(out) == (round(1.1 * 10 * DPI), round((1.2 * 1 + 0.4) * DPI))


@pytest.mark.slow
def test_maximize_raises_the_target_activation(fashion_run, shoe):
    subject = open_subject(str(fashion_run))
    for layer, channel in (("4", 3), ("9", 5), (None, 7)):  # a conv channel, a dense unit, a class logit
        picture = maximize(subject, layer, channel, steps=40)
        assert picture.after > picture.before + 0.1, (layer, channel, picture)
        assert picture.pixels.shape == (1, 28, 28) and 0 <= picture.pixels.min() <= picture.pixels.max() <= 1
    again = maximize(subject, "4", 3, steps=40)
    np.testing.assert_array_equal(again.pixels, maximize(subject, "4", 3, steps=40).pixels)  # seeded
    original, dream = deepdream(subject, "4", shoe, octaves=2, steps=5)
    assert dream.after > original.before


@pytest.mark.slow
def test_maximize_and_deepdream_cli(fashion_run, shoe, tmp_path):
    out = tmp_path / "max.png"
    assert main(["show", "maximize", str(fashion_run), "--layer", "4", "--channel", "0,1", "--steps", "8",
                 "-o", str(out)]) == 0
    assert _png_size(out) == _grid(2, 1, 2.4)
    out = tmp_path / "class.png"
    assert main(["show", "maximize", str(fashion_run), "--class", "Sneaker", "--steps", "8", "-o", str(out)]) == 0
    assert _png_size(out) == _grid(1, 1, 3.0)
    out = tmp_path / "dream.png"
    assert main(["show", "maximize", str(fashion_run), "--deepdream", str(shoe), "--layer", "4",
                 "--octaves", "2", "-o", str(out)]) == 0
    assert _png_size(out) == _grid(2, 1, 2.4)


def test_confusion_from_eval_json_and_by_evaluating(fashion_run, tmp_path):
    confusion, classes = run_confusion(fashion_run)
    assert confusion.shape == (10, 10) and confusion.sum() == 200 and classes[0] == "T-shirt/top"
    evaluated = evaluate_run(fashion_run)  # the same test set, evaluated again: the same matrix
    np.testing.assert_array_equal(evaluated.confusion, confusion)
    out = tmp_path / "confusion.png"
    assert main(["show", "confusion", str(fashion_run), "-o", str(out)]) == 0
    side = max(4.0, 0.45 * 10 + 2)
    assert _png_size(out) == (round((2 * side + 1) * DPI), round(side * DPI))


def test_mistakes_and_curves(fashion_run, tiny_run, tmp_path):
    out = tmp_path / "mistakes.png"
    assert main(["show", "mistakes", str(fashion_run), "-n", "8", "-o", str(out)]) == 0
    assert _png_size(out) == _grid(math.ceil(math.sqrt(8)), 3, 1.3)
    out = tmp_path / "curves.png"
    assert main(["show", "curves", str(fashion_run), str(tiny_run), "-o", str(out)]) == 0
    assert _png_size(out) == (10 * DPI, 4 * DPI)


@pytest.mark.slow
def test_user_mistakes_are_one_line_errors(fashion_run, shoe, tmp_path, capsys):
    cases = [
        (["show", "filters", str(fashion_run), "--layer", "nope"], "unknown layer 'nope'"),
        (["show", "filters", str(fashion_run), "--layer", "2"], "not a conv layer"),
        (["show", "filters", "mlp"], "no conv layers"),
        (["show", "maximize", str(fashion_run), "--channel", "99", "--steps", "1"], "out of range"),
        (["show", "maximize", str(fashion_run), "--class", "Socks"], "unknown class 'Socks'"),
        (["show", "maximize", str(fashion_run), "--channel", "a-b"], "expected K"),
        (["show", "features", str(fashion_run), str(tmp_path / "missing.png")], "no such file"),
        (["show", "confusion", str(tmp_path / "norun")], "no such checkpoint"),
        (["show", "filters", "lenett"], "did you mean lenet"),
    ]
    for argv, message in cases:
        if argv[2] == "mlp" and "mlp" not in list_models():
            continue
        assert main([*argv, "-o", str(tmp_path / "x.png")]) == 1, argv
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, (argv, err)
    assert not (tmp_path / "x.png").exists()


@pytest.mark.slow
def test_registry_names_draw_untrained_models(shoe, tmp_path):
    subject = open_subject("lenet")
    assert "untrained" in subject.label and subject.input_shape == (1, 28, 28)
    assert main(["show", "features", "lenet", str(shoe), "-o", str(tmp_path / "f.png")]) == 0
    with pytest.raises(ConvzooError):
        open_subject("no/such/run")


def test_report_embeds_the_mistakes_of_a_run_that_makes_some(fashion_run, tmp_path):
    from convzoo.analysis.report import build_report

    html = build_report(str(fashion_run), tmp_path / "report.html").read_text()
    assert html.count('<img src="data:image/png;base64,') == 4 and "most confident mistakes" in html
