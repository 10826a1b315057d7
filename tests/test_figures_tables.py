"""From Python every picture is a matplotlib Figure and nothing is written; every table shows as HTML
(Jupyter) and as Markdown through the one renderer (convzoo.tables)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from PIL import Image

from convzoo.analysis.maximize import deepdream, maximize, plot_pictures
from convzoo.analysis.runplots import RunEvaluation, plot_confusion, plot_mistakes
from convzoo.analysis.visualize import open_subject, plot_features, plot_filters
from convzoo.train.curves import plot_curves


@pytest.fixture
def here(tmp_path, monkeypatch):
    """A folder of its own as the working directory, holding one picture: whatever else appears in it
    was written by a picture function."""
    monkeypatch.chdir(tmp_path)
    Image.fromarray(np.tile(np.arange(28, dtype=np.uint8) * 9, (28, 1))).save(tmp_path / "in.png")
    return tmp_path


def _wrote(folder) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.name != "in.png")


@pytest.mark.slow  # optimises pictures
def test_picture_functions_return_figures_and_write_nothing(here):
    torch.manual_seed(0)
    subject = open_subject("lenet_modern")  # untrained: no checkpoint needed
    rng = np.random.default_rng(0)
    logits = torch.from_numpy(rng.normal(size=(20, 10)).astype(np.float32))
    labels = torch.arange(20) % 10
    result = RunEvaluation([str(k) for k in range(10)], torch.zeros(20, 1, 28, 28, dtype=torch.uint8), labels,
                           None, torch.softmax(logits, 1))
    history = [{"epoch": e, "train_loss": 1 / e, "train_acc": 0.5, "test_loss": 1.2 / e, "test_acc": 0.4 + e / 10}
               for e in (1, 2, 3)]
    figures = {
        "filters": plot_filters(subject),
        "features": plot_features(subject, here / "in.png"),
        "maximise": plot_pictures([maximize(subject, None, 3, steps=2)], title="class 3"),
        "deepdream": plot_pictures(list(deepdream(subject, "0", here / "in.png", octaves=1, steps=1))),
        "confusion": plot_confusion(np.eye(3, dtype=int) * 5 + 1, ["a", "b", "c"]),
        "mistakes": plot_mistakes(result, n=4),
        "curves": plot_curves({"mine": history}),
    }
    for name, figure in figures.items():
        assert isinstance(figure, Figure), name
        assert figure.axes, name  # something was drawn
    assert figures["curves"].axes[1].lines[-1].get_ydata().tolist() == [r["test_acc"] for r in history]
    assert _wrote(here) == []


def test_the_path_form_still_writes_the_file(here):
    written = plot_confusion(np.eye(2, dtype=int), ["a", "b"], here / "c.png")
    assert written == here / "c.png" and Image.open(written).format == "PNG"


@pytest.mark.slow  # traces models
def test_tables_have_html_and_markdown_forms():
    from convzoo import create_model
    from convzoo.analysis.receptive import receptive_fields
    from convzoo.analysis.summary import format_summary, summarize
    from convzoo.zoo.table import zoo_table

    model = create_model("lenet")
    summary = summarize(model, (1, 28, 28), label="lenet")
    html, markdown = summary._repr_html_(), summary.to_markdown()
    assert html.count("<tr>") == len(summary.rows) + 1  # a header and one row per layer
    assert markdown.count("\n| ") == len(summary.rows) + 1 and "|---|---|---|---:|---:|" in markdown
    assert str(summary) == format_summary(summary) and str(summary).startswith("lenet, input 1x28x28")  # as printed
    fields = receptive_fields(model, (1, 28, 28), "lenet")
    assert isinstance(fields, list) and fields._repr_html_().count("<tr>") == len(fields) + 1
    zoo = zoo_table()
    assert all(row["name"] in zoo._repr_html_() for row in zoo) and sum(line.startswith("| ") for line in zoo.to_markdown().splitlines()) == len(zoo) + 1


def test_one_renderer_escapes_what_it_shows():
    from convzoo.tables import Grid, Table

    table = Table("a <b> title", Grid(["x", "n"], [["p|q", "1"]], right={1}))
    assert "a &lt;b&gt; title" in table.html() and '<td style="text-align:right">1</td>' in table.html()
    assert "| p\\|q | 1 |" in table.markdown() and table.markdown().startswith("a <b> title\n\n| x | n |")
    assert table.text().splitlines()[1].split() == ["x", "n"]
