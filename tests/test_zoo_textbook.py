"""The zoo's textbook column: d2l's recipes resolve to the chapter's exact settings and train as d2l
does (Xavier weights, [0, 1] pixels); the table shows the printed figure with its source, our re-run
and what differs, "beats" only for the same network beyond the seeds' spread; the chart is drawn."""

from __future__ import annotations

import math

import pytest
import torch

from convzoo.models import count_parameters, create_model
from convzoo.train.recipes import RECIPES
from convzoo.zoo.rows import D2L_ROWS, ROWS

D2L_LENET = {"model": "lenet", "lr": 0.9, "batch_size": 256, "epochs": 10, "optimizer": "sgd", "momentum": 0.0,
             "nesterov": False, "weight_decay": 0.0, "schedule": "constant", "label_smoothing": 0.0,
             "augment": "none", "init": "xavier", "normalize": "none", "precision": "fp32", "tta": False, "ema": 0.0}


def test_d2l_recipes_resolve_to_the_chapters_exact_settings():
    lenet = RECIPES["d2l-lenet"].config()
    assert {k: getattr(lenet, k) for k in D2L_LENET} == D2L_LENET and lenet.model_kwargs == {}
    bn = RECIPES["d2l-lenet-bn"].config()
    assert {k: getattr(bn, k) for k in D2L_LENET} == {**D2L_LENET, "model": "lenet_bn", "lr": 1.0}
    assert isinstance(lenet.channels_last, bool)  # a fixed layout: no timing picks it
    # The chapters' networks: the sigmoid LeNet (61,706) and the BN-LeNet with an unpadded first conv (44,878).
    net = create_model("lenet", num_classes=10, in_channels=1, input_size=(28, 28))
    assert count_parameters(net) == 61_706
    assert {type(m).__name__ for m in net} >= {"Sigmoid", "AvgPool2d"} and "ReLU" not in {type(m).__name__ for m in net}
    assert count_parameters(create_model("lenet_bn", num_classes=10, in_channels=1, input_size=(28, 28),
                                         **bn.model_kwargs)) == 44_878
    assert {r.recipe for r in D2L_ROWS.values()} == {"d2l-lenet", "d2l-lenet-bn"}


def test_the_trainer_initialises_by_xavier_and_leaves_pixels_in_0_1(tiny_data_dir):
    from convzoo.train import Trainer

    config = RECIPES["d2l-lenet"].config(data_dir=str(tiny_data_dir), threads=1, epochs=1, train_size=64)
    trainer = Trainer(config).prepare()
    assert trainer.data.train.mean == (0.0,) and trainer.data.train.std == (1.0,)
    fc1 = trainer.model[7]  # Linear(400, 120): torch's default bound is 1/sqrt(400) = 0.05, Xavier's 0.107
    bound = math.sqrt(6 / (400 + 120))
    assert isinstance(fc1, torch.nn.Linear) and 0.08 < fc1.weight.abs().max() <= bound


def test_beats_needs_the_same_network_and_more_than_the_spread():
    from convzoo.zoo.table import beats

    ours, theirs = {"mean": 0.86, "sd": 0.002}, {"mean": 0.80, "sd": 0.01}
    assert beats(ours, theirs, same_net=True) == "yes"
    assert beats(ours, theirs, same_net=False) == "-"
    assert beats({"mean": 0.805, "sd": 0.002}, theirs, same_net=True) == "within spread"
    assert beats({"mean": 0.86, "sd": None}, theirs, same_net=True) == "-"  # one seed: no spread
    assert beats({"mean": 0.70, "sd": 0.002}, theirs, same_net=True) == "no"


@pytest.mark.slow  # builds two rows' models and counts their MACs
def test_the_table_shows_the_printed_figure_our_rerun_and_what_differs():
    from convzoo.zoo.table import format_table, table_row

    lenet, paper = table_row(ROWS["lenet"]), table_row(ROWS["lenet-1998"])
    assert lenet["printed"]["accuracy"] == 0.779 and lenet["printed"]["source"].startswith("d2l-zh 2.0.0")
    assert lenet["printed"]["link"] == "https://zh.d2l.ai/chapter_convolutional-neural-networks/lenet.html"
    assert lenet["d2l_recipe"] == "d2l-lenet" and "recipe" in lenet["differs"] and lenet["beats"] in {
        "yes", "no", "within spread", "-"}
    assert "LeCun" in paper["printed"]["source"] and paper["d2l_recipe"] is None  # its paper, not d2l's LeNet
    text = format_table([lenet, paper])
    header = text.splitlines()[0]
    for column in ("built", "convzoo recipe", "d2l recipe here", "printed", "beats"):
        assert column in header
    assert "0.779 [1]" in text and "0.991 MNIST [2]" in text
    assert "[1] d2l-zh 2.0.0, 6.6 LeNet: https://zh.d2l.ai/" in text and "differs from the printed run" in text


def test_rows_are_named_by_what_was_built():
    for name in ("resnext", "se-resnet", "wide-resnet", "densenet-bc"):
        row = ROWS[name]
        assert row.model not in row.built and "50" not in row.built and "100" not in row.built  # no ImageNet name
    assert "ResNeXt-20" in ROWS["resnext"].built


@pytest.mark.slow  # draws and saves a figure
def test_zoo_plot_draws_every_trained_row(tmp_path):
    from convzoo.zoo.plot import write_plot, zoo_figure
    from convzoo.zoo.table import table_row

    rows = [table_row(ROWS[name]) for name in ("lenet", "mlp")]
    rows[0] = {**rows[0], "d2l_accuracy": {"mean": 0.8, "sd": 0.01, "seeds": 3}}  # its re-run: an open disc
    rows[1] = {**rows[1], "accuracy": None}  # untrained: left out, named in the caption
    fig = zoo_figure(rows)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and "test accuracy %" in ax.get_ylabel()
    drawn = [c.get_offsets()[0][1] for c in ax.collections if len(c.get_offsets())]
    assert drawn == pytest.approx([rows[0]["accuracy"]["mean"] * 100, 80.0])
    assert any("not trained yet: mlp" in t.get_text() for t in fig.texts)
    path = write_plot(tmp_path / "zoo.png", rows)
    assert path.read_bytes()[:4] == b"\x89PNG"
