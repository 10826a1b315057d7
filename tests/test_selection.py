"""`convzoo search`: grid search by stratified K-fold CV through the engine. The folds come from the
training set only and the test set is read once, by the chosen cell's retrained run; cells carry
mean ± sd of their folds; an interrupted search resumes; shards split the runs; bad grids are one line."""

from __future__ import annotations

import json
import shutil
import statistics

import pytest
import torch
from helpers import run_cli as run

from convzoo.selection import search
from convzoo.train import Trainer

pytestmark = pytest.mark.slow  # every test here trains folds through the engine

GRID = ["lr=0.05,0.2", "batch_size=32,64"]
COMMON = {"folds": 2, "train_size": 200, "settings": {"epochs": 1, "precision": "fp32"}}


@pytest.fixture
def trainings(monkeypatch):
    """Every Trainer the search builds: (config, the images it trains on, the images it tests on)."""
    seen = []
    original = Trainer.__init__

    def spy(self, config, data=None, *args, **kwargs):
        seen.append((config, data.train.images.clone(), data.test.images.clone()))
        original(self, config, data, *args, **kwargs)

    monkeypatch.setattr(Trainer, "__init__", spy)
    return seen


def rows(images: torch.Tensor) -> set[bytes]:
    return {bytes(x.flatten().tolist()) for x in images}


@pytest.fixture(scope="module")
def test_images(tiny_data_dir):
    from convzoo.data import load_dataset

    return rows(load_dataset("fashion-mnist", tiny_data_dir).test.images)


def test_cells_are_chosen_on_training_folds_and_tested_once(trainings, test_images, tiny_data_dir, tmp_path):
    result = search("lenet_modern", GRID, data_dir=tiny_data_dir, out=tmp_path / "s", log=lambda m: None, **COMMON)
    assert len(trainings) == 4 * 2 + 1 and len(result.cells) == 4
    for config, train, held_out in trainings[:-1]:  # the folds: 100 + 100 of the 200 training images
        assert len(train) == len(held_out) == 100
        assert not rows(train) & rows(held_out) and not (rows(train) | rows(held_out)) & test_images
    final_config, final_train, final_test = trainings[-1]
    assert len(final_train) == 200 and rows(final_test) == test_images  # the only run that sees the test set
    for cell in result.cells:
        assert cell["mean"] == pytest.approx(statistics.fmean(cell["folds"]))
        assert cell["sd"] == pytest.approx(statistics.stdev(cell["folds"]))
    assert result.best["mean"] == max(c["mean"] for c in result.cells)
    assert {final_config.lr, final_config.batch_size} == {result.best["values"]["lr"], result.best["values"]["batch_size"]}
    history = json.loads((tmp_path / "s" / "best" / "metrics.jsonl").read_text().splitlines()[-1])
    assert result.test_accuracy == pytest.approx(history["test_acc"])
    assert {p.name for p in (tmp_path / "s").iterdir()} >= {"results.md", "results.json", "heatmap.png", "best", "runs"}
    assert "± " in (tmp_path / "s" / "results.md").read_text()
    assert result._repr_html_().count("<tr>") == len(result.cells) + 1  # a notebook's table: header + cells
    assert f"chosen: {result.best['label']}" in result.to_markdown()


def test_an_interrupted_search_resumes_without_retraining(trainings, tiny_data_dir, tmp_path):
    out = tmp_path / "s"
    first = search("lenet_modern", ["lr=0.05,0.2"], data_dir=tiny_data_dir, out=out, log=lambda m: None, **COMMON)
    shutil.rmtree(out / "runs" / "cell01-fold1")  # as if stopped before this run
    shutil.rmtree(out / "best")
    trainings.clear()
    again = search("lenet_modern", ["lr=0.05,0.2"], data_dir=tiny_data_dir, out=out, log=lambda m: None, **COMMON)
    assert [c.out.split("/")[-1] for c, _, _ in trainings] == ["cell01-fold1", "best"]
    assert again.cells == first.cells and again.test_accuracy == pytest.approx(first.test_accuracy)
    trainings.clear()
    search("lenet_modern", ["lr=0.05,0.2"], data_dir=tiny_data_dir, out=out, log=lambda m: None, **COMMON)
    assert trainings == []


def test_shards_split_the_runs_and_a_plain_run_finishes(trainings, tiny_data_dir, tmp_path):
    out = tmp_path / "s"
    args = {"data_dir": tiny_data_dir, "out": out, "log": lambda m: None, **COMMON}
    part = search("lenet_modern", ["lr=0.05,0.2"], shard=(0, 2), **args)
    assert not part.complete and len(trainings) == 2
    assert not search("lenet_modern", ["lr=0.05,0.2"], shard=(1, 2), **args).complete  # shards never retrain
    names = [c.out.split("/")[-1] for c, _, _ in trainings]
    assert sorted(names) == ["cell00-fold0", "cell00-fold1", "cell01-fold0", "cell01-fold1"]
    done = search("lenet_modern", ["lr=0.05,0.2"], **args)
    assert done.complete and [c.out.split("/")[-1] for c, _, _ in trainings[4:]] == ["best"]


def test_model_options_and_random_cells(trainings, tiny_data_dir, tmp_path):
    result = search("lenet_modern", ["activation=relu,tanh", "hidden=120,84|32"], sample=3, data_dir=tiny_data_dir,
                    out=tmp_path / "s", log=lambda m: None, **COMMON)
    assert len(result.cells) == 3 and len({c["label"] for c in result.cells}) == 3
    kwargs = [c.model_kwargs for c, _, _ in trainings]
    assert all(set(k) == {"activation", "hidden"} for k in kwargs)
    assert {tuple(k["hidden"]) for k in kwargs} <= {(120, 84), (32,)}
    assert not (tmp_path / "s" / "heatmap.png").exists()  # a sampled grid has holes: no heat-map


def test_cli_prints_every_cell_and_the_single_test(capsys, tiny_data_dir, tmp_path):
    code, out, err = run(capsys, "search", "lenet_modern", "--grid", "lr=0.05,0.2", "--folds", "2", "--train-size",
                         "200", "--epochs", "1", "--data-dir", tiny_data_dir, "--out", tmp_path / "s")
    assert code == 0, err
    assert out.count("±") == 2 and "<- chosen" in out and "test accuracy" in out and "used once" in out
    assert "[1/4] cell 1/2" in err  # progress: which run, how many


@pytest.mark.parametrize("args, message", [
    (["--grid", "lrr=0.1,0.2"], "unknown --grid key"),
    (["--grid", "lr=fast,0.2"], "--grid lr: --lr takes a number, not 'fast'"),
    (["--grid", "lr=-1"], "--grid lr: --lr must be > 0"),
    (["--grid", "activation=relu,swish"], "--grid activation"),
    (["--grid", "lr"], "--grid takes KEY=V1,V2"),
    (["--grid", "lr=0.1,0.1"], "repeats a value"),
    (["--grid", "data=a,b"], "--grid cannot vary --data"),
    (["--grid", "lr=0.1", "--grid", "lr=0.2"], "names lr twice"),
    ([], "--grid is empty"),
    (["--grid", "lr=0.1", "--folds", "1"], "--folds: must be from 2"),
    (["--grid", "lr=0.1", "--folds", "9", "--train-size", "50"], "--folds must be between 2 and 5"),
    (["--grid", "lr=0.1", "--random", "0"], "--random: must be at least 1"),
    (["--grid", "lr=0.1", "--val-split", "0.1"], "--val-split is not used by search"),
])
def test_bad_input_is_one_line(capsys, tiny_data_dir, tmp_path, args, message):
    code, _, err = run(capsys, "search", "lenet_modern", *args, "--data-dir", tiny_data_dir, "--out", tmp_path / "s")
    assert code != 0
    assert message in err and len(err.strip().splitlines()) == 1


def test_another_search_in_the_same_folder_is_refused(capsys, tiny_data_dir, tmp_path):
    base = ["search", "lenet_modern", "--folds", "2", "--train-size", "100", "--epochs", "1", "--data-dir",
            tiny_data_dir, "--out", tmp_path / "s"]
    assert run(capsys, *base, "--grid", "lr=0.1")[0] == 0
    code, _, err = run(capsys, *base, "--grid", "lr=0.2")
    assert code == 1 and "holds another search" in err
