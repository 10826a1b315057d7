"""convzoo study: the studies' tables, the runner (end to end, resume, failures, shards), the noise
rule, the invariance transforms and the linear probe."""

from __future__ import annotations

import contextlib
import dataclasses
import json

import numpy as np
import pytest
import torch
from torch import nn

from convzoo.cli import main
from convzoo.errors import ConvzooError
from convzoo.experiments import stats
from convzoo.models import count_parameters, create_model
from convzoo.studies import NAMES, Analysis, Run, Setting, Study, get_study, list_studies, run_study
from convzoo.studies.probe import gradient_norms, linear_probe, tap
from convzoo.studies.runner import _config
from convzoo.studies.transforms import rotate, scale, translate
from convzoo.train import TrainConfig, Trainer

# ---- every study's table is well formed ------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_study_table_builds(name, tmp_path):
    study = get_study(name)
    assert study.name == name and "\n" not in study.summary and study.summary
    for setting_name in ("quick", "full"):
        setting = study.setting(setting_name)
        runs = study.runs_for(setting_name)
        assert runs, f"{name} {setting_name} has no runs"
        assert len({r.name for r in runs}) == len(runs)
        assert setting.seeds >= 1 and setting.epochs >= 1 and setting.minutes > 0
        for run in runs:
            config = _config(run, 0, setting_name, setting, "fashion-mnist", None, setting.train_size,
                             tmp_path / run.name, 0)
            assert isinstance(config, TrainConfig)
            with torch.device("meta"):
                model = create_model(run.model, num_classes=10, in_channels=1, input_size=(28, 28),
                                     **run.kwargs_for(setting_name))
            assert count_parameters(model) > 0
    assert study.full.seeds >= 3  # the full studies report mean ± sd over at least three seeds


def test_study_options_do_what_they_say():
    def convs(model):
        return [m for m in model.modules() if isinstance(m, nn.Conv2d)]

    kwargs = {"num_classes": 10, "in_channels": 1, "input_size": (28, 28), "widths": (8, 16, 24, 24, 16),
              "hidden": 64}
    whole = create_model("alexnet_small", **kwargs)
    no_fc = create_model("alexnet_small", remove=("fc6", "fc7"), **kwargs)
    shallow = create_model("alexnet_small", remove=("conv3", "conv4", "fc6", "fc7"), **kwargs)
    assert len(convs(whole)) == 5 and len(convs(shallow)) == 3
    assert sum(isinstance(m, nn.Linear) for m in no_fc.modules()) == 1
    assert count_parameters(whole) - count_parameters(no_fc) == (16 * 4 + 1) * 64 + 65 * 64 + 64 * 10 - 16 * 4 * 10
    assert shallow(torch.randn(2, 1, 28, 28)).shape == (2, 10)
    five = create_model("vgg13", num_classes=10, in_channels=1, input_size=(28, 28), config="vgg13_5x5", width=0.125)
    assert [m.kernel_size for m in convs(five)] == [(5, 5)] * 5
    gap = create_model("vgg11", num_classes=10, in_channels=1, input_size=(28, 28), width=0.125, head="conv")
    assert not any(isinstance(m, nn.Linear) for m in gap.modules())
    with pytest.raises(ConvzooError, match="remove takes"):
        create_model("alexnet_small", remove=("fc9",))


# ---- the noise rule ----------------------------------------------------------------------------


def test_noise_rule():
    one = stats.compare([0.80], [0.85])
    assert one.distinct is None and one.method == "one seed" and "one seed" in stats.rule_text([one]).lower()
    noisy = stats.compare([0.80, 0.90, 0.70], [0.82, 0.72, 0.91])
    assert noisy.distinct is False and noisy.method == "welch" and noisy.p > 0.05
    clear = stats.compare([0.80, 0.801, 0.799], [0.90, 0.901, 0.899])
    assert clear.distinct is True and clear.diff == pytest.approx(0.1)
    same = stats.compare([0.5, 0.5], [0.5, 0.5])
    assert same.distinct is False and same.diff == 0
    assert "Welch" in stats.rule_text([noisy]) and "within the noise" in stats.describe(noisy, "x")
    assert stats.stat([1.0, 2.0, 3.0]).fmt(1) == "2.0 ± 1.0" and stats.stat([0.5]).fmt(2) == "0.50"


def test_noise_rule_without_scipy_uses_two_sd(monkeypatch):
    monkeypatch.setattr(stats, "_welch_p", lambda *_: None)
    small = stats.compare([1.0, 2.0], [1.5, 2.5])  # diff 0.5, pooled sd 0.71
    big = stats.compare([1.0, 1.2], [3.0, 3.2])  # diff 2.0, pooled sd 0.14
    assert small.method == big.method == "2sd"
    assert small.distinct is False and big.distinct is True
    assert "2 x the pooled standard deviation" in stats.rule_text([small])


# ---- transforms and probes ---------------------------------------------------------------------


@pytest.mark.parametrize("dx,dy", [(3, 0), (0, 2), (-4, 1), (5, -5)])
def test_translate_moves_a_bright_pixel_by_k(dx, dy):
    x = torch.zeros(1, 1, 16, 16)
    x[0, 0, 7, 8] = 255
    moved = translate(x, dx=dx, dy=dy)
    assert (moved[0, 0] == 255).nonzero().tolist() == [[7 + dy, 8 + dx]]
    assert moved.sum() == 255 and translate(x, 9, 0).sum() == 0  # pushed out of the image: gone


def test_rotate_and_scale():
    x = torch.zeros(1, 1, 8, 8)
    x[0, 0, 1, 5] = 1.0  # up and to the right of the centre (3.5, 3.5)
    assert (rotate(x, 90)[0, 0] > 0.99).nonzero().tolist() == [[2, 1]]  # counter-clockwise: up-left
    assert torch.allclose(rotate(rotate(x, 90), -90), x, atol=1e-6)
    assert torch.equal(scale(x, 1.0), x) and torch.equal(rotate(x, 360), x)
    blob = torch.zeros(1, 1, 32, 32)
    blob[..., 14:18, 14:18] = 1.0
    assert float(scale(blob, 2.0).sum()) == pytest.approx(4 * float(blob.sum()), rel=0.1)  # twice the size: 4x the area


def test_linear_probe_on_separable_features():
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 5, (4, 16))
    labels = rng.integers(0, 4, 600)
    features = centres[labels] + rng.normal(0, 1, (600, 16))
    assert linear_probe(features[:400], labels[:400], features[400:], labels[400:]) > 0.95
    noise = rng.normal(0, 1, (600, 16))
    assert linear_probe(noise[:400], labels[:400], noise[400:], labels[400:]) < 0.5


def test_taps_and_gradient_norms():
    torch.manual_seed(0)
    model = create_model("lenet", activation="sigmoid")
    tapped = tap(model, torch.randn(4, 1, 28, 28))
    assert tapped.names == ["conv1", "conv2", "fc1", "fc2", "logits"]
    assert tapped.outputs[0].shape == (4, 6, 28, 28) and tapped.outputs[-1].shape == (4, 10)
    before = [p.clone() for p in model.parameters()]
    norms = gradient_norms(model, torch.randn(32, 1, 28, 28), torch.randint(0, 10, (32,)))
    assert list(norms) == ["conv1", "conv2", "fc1", "fc2", "fc3"] and all(v > 0 for v in norms.values())
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
    assert all(p.grad is None for p in model.parameters())


# ---- the runner --------------------------------------------------------------------------------

TINY = {"train_size": 200, "epochs": 1, "test_size": 100, "batch_size": 50, "lr": 0.05, "seeds": 2,
        "minutes": 0.1, "config": {"precision": "fp32", "channels_last": False}}


def _tiny(study: Study, **changes) -> Study:
    return dataclasses.replace(study, quick=dataclasses.replace(study.quick, **{**TINY, **changes}))


def _mini(analyse=None) -> Study:
    """Two small MLPs: the cheapest study the runner can run."""
    def default(results):
        rows = [[r.name, stats.stat(results.values(r.name, "test_acc")).fmt(3)] for r in results.runs]
        with results.figure("mini.png", 1, 1, figsize=(3, 2)) as (_fig, ax):
            ax.bar(range(len(rows)), [results.stat(r.name, "test_acc").mean for r in results.runs])
        return Analysis(["run", "test accuracy"], rows, "mini finding", ["mini.png"])

    runs = (Run("narrow", "mlp", {"hidden": (8,)}), Run("wide", "mlp", {"hidden": (32,)}))
    setting = Setting(**TINY)
    return Study("mini", "two MLPs", "?", runs, setting, setting, analyse or default)


def _mtimes(out):
    return {p.parent.name: p.stat().st_mtime_ns for p in sorted((out / "runs").glob("*/checkpoint.pt"))}


@pytest.mark.slow
def test_a_study_end_to_end_then_resumes_without_training(tiny_data_dir, tmp_path):
    out = tmp_path / "mini"
    first = run_study(_mini(), quick=True, data_dir=str(tiny_data_dir), out=out, threads=1)
    assert first.counts["started"] == 4 and first.complete and first.rows[0][0] == "narrow"
    assert sorted(p.name for p in out.iterdir()) == ["finding.md", "mini.png", "results.json", "results.md", "runs",
                                                     "study.json"]
    assert "| run | test accuracy |" in (out / "results.md").read_text()
    assert (out / "mini.png").read_bytes()[:4] == b"\x89PNG"
    assert type(first.figures()["mini.png"]).__name__ == "Figure"  # from Python: the Figure itself
    assert "| run | test accuracy |" in first.to_markdown() and first._repr_html_().count("<tr>") == 3
    assert "data:image/png;base64," in first._repr_html_()  # a notebook shows the figure under the table
    before = _mtimes(out)
    assert len(before) == 4
    second = run_study(_mini(), quick=True, data_dir=str(tiny_data_dir), out=out, threads=1)
    assert second.counts["started"] == second.counts["resumed"] == 0 and second.counts["read back"] == 4
    assert _mtimes(out) == before and second.rows == first.rows
    _check_study_report(out, first)


def _check_study_report(out, result):
    """`convzoo report` on a study's folder: its table, finding and figures on one self-contained page."""
    import base64
    import html
    import re

    from convzoo.analysis.report import build_report

    page = build_report(str(out)).read_text()
    assert result.columns[0] in page and all(html.escape(str(cell)) in page for cell in result.rows[0])
    assert html.escape(result.finding.strip().splitlines()[0]) in page
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == 1 and base64.b64decode(images[0]) == (out / "mini.png").read_bytes()
    assert "http" not in page.replace("http-equiv", "")  # nothing fetched from elsewhere


@pytest.mark.slow
def test_invariance_study_end_to_end_then_resumes_without_training(tiny_data_dir, tmp_path):
    study = _tiny(get_study("invariance"), options={"images": 50})
    out = tmp_path / "inv"
    first = run_study(study, quick=True, data_dir=str(tiny_data_dir), out=out, threads=1)
    assert first.counts["started"] == 4 and first.complete and not first.failures
    for name in ("results.json", "results.md", "finding.md", "invariance.png"):
        assert (out / name).is_file() and (out / name).stat().st_size > 100, name
    assert (out / "invariance.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in (out / "runs").iterdir()) == ["cnn-seed0", "cnn-seed1", "mlp-seed0", "mlp-seed1"]
    for run_dir in (out / "runs").iterdir():  # normal run directories
        assert {"config.json", "metrics.jsonl", "eval.json", "checkpoint.pt"} <= {p.name for p in run_dir.iterdir()}
    results = json.loads((out / "results.json").read_text())
    assert results["study"] == "invariance" and len(results["records"]) == 4
    record = results["records"][0]
    assert record["status"] == "finished" and set(record["measurements"]["transforms"]) == {
        "translation", "scale", "rotation"}
    assert "| net |" in (out / "results.md").read_text() and "Noise rule" in (out / "finding.md").read_text()
    before = _mtimes(out)

    second = run_study(study, quick=True, data_dir=str(tiny_data_dir), out=out, threads=1)
    assert second.counts["started"] == second.counts["resumed"] == 0 and second.counts["read back"] == 4
    assert _mtimes(out) == before and second.rows == first.rows


@pytest.mark.slow
def test_an_interrupted_study_resumes_where_it_stopped(tiny_data_dir, tmp_path, monkeypatch):
    study = dataclasses.replace(_mini(), quick=dataclasses.replace(_mini().quick, epochs=2, seeds=1))
    out = tmp_path / "mini"
    real_epoch, calls = Trainer.train_epoch, []

    def interrupt_in_fourth_epoch(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 4:  # run 1 finished (2 epochs); run 2 stopped after its first
            raise KeyboardInterrupt
        return real_epoch(self, *args, **kwargs)

    monkeypatch.setattr(Trainer, "train_epoch", interrupt_in_fourth_epoch)
    with pytest.raises(KeyboardInterrupt):
        run_study(study, quick=True, data_dir=str(tiny_data_dir), out=out, threads=1)
    monkeypatch.setattr(Trainer, "train_epoch", real_epoch)
    assert [json.loads(line)["epoch"] for line in (out / "runs/wide-seed0/metrics.jsonl").read_text().splitlines()] == [1]
    result = run_study(study, quick=True, data_dir=str(tiny_data_dir), out=out, threads=1)
    assert result.counts == {"started": 0, "resumed": 1, "read back": 1, "diverged": 0, "failed": 0}
    history = json.loads((out / "results.json").read_text())["records"][1]["history"]
    assert [row["epoch"] for row in history] == [1, 2]


@pytest.mark.slow
def test_a_failed_run_is_named_and_the_others_are_kept(tiny_data_dir, tmp_path, monkeypatch):
    real_fit = Trainer.fit

    def fit(self, *args, **kwargs):
        if self.config.model_kwargs.get("hidden") == (32,):
            raise ConvzooError("something broke")
        return real_fit(self, *args, **kwargs)

    monkeypatch.setattr(Trainer, "fit", fit)
    out = tmp_path / "mini"
    with pytest.raises(ConvzooError, match=r"2 run\(s\) failed \(wide-seed0: something broke; wide-seed1"):
        run_study(_mini(), quick=True, data_dir=str(tiny_data_dir), out=out, threads=1)
    records = json.loads((out / "results.json").read_text())["records"]
    assert [r["status"] for r in records] == ["finished", "finished", "failed", "failed"]
    monkeypatch.setattr(Trainer, "fit", real_fit)
    again = run_study(_mini(), quick=True, data_dir=str(tiny_data_dir), out=out, threads=1)
    assert again.counts["read back"] == 2 and again.counts["started"] == 2 and not again.failures


@pytest.mark.slow
def test_a_diverged_run_is_a_result_at_chance_and_not_retried(tiny_data_dir, tmp_path, monkeypatch):
    real_fit = Trainer.fit
    diverging = []

    def fit(self, *args, **kwargs):
        if self.config.model_kwargs.get("hidden") == (32,):
            diverging.append(1)
            raise ConvzooError("training diverged: the loss is nan in epoch 1 (try a lower --lr); nothing was saved")
        return real_fit(self, *args, **kwargs)

    monkeypatch.setattr(Trainer, "fit", fit)
    study = dataclasses.replace(_mini(), quick=dataclasses.replace(_mini().quick, seeds=1))
    out = tmp_path / "mini"
    result = run_study(study, quick=True, data_dir=str(tiny_data_dir), out=out, threads=1)
    assert result.counts["diverged"] == 1 and not result.failures
    record = json.loads((out / "results.json").read_text())["records"][1]
    assert record["status"] == "diverged" and record["test_acc"] == pytest.approx(0.1)
    run_study(study, quick=True, data_dir=str(tiny_data_dir), out=out, threads=1)
    assert len(diverging) == 1


@pytest.mark.slow
def test_shards_split_the_runs_and_a_plain_run_assembles(tiny_data_dir, tmp_path):
    out = tmp_path / "mini"
    common = {"quick": True, "data_dir": str(tiny_data_dir), "out": out, "threads": 1}
    half = run_study(_mini(), shard=(0, 2), **common)
    assert not half.complete and half.counts["started"] == 2 and not (out / "results.json").exists()
    other = run_study(_mini(), shard=(1, 2), **common)  # the last shard finds everything done and assembles
    assert other.complete and other.counts["started"] == 2 and (out / "results.json").is_file()
    assert run_study(_mini(), **common).counts["read back"] == 4


@pytest.mark.slow
def test_out_holding_another_study_or_setting_is_refused(tiny_data_dir, tmp_path):
    out = tmp_path / "mini"
    run_study(_mini(), quick=True, data_dir=str(tiny_data_dir), out=out, threads=1, seeds=1)
    with pytest.raises(ConvzooError, match="holds the quick mini study"):
        run_study(_mini(), quick=False, data_dir=str(tiny_data_dir), out=out, threads=1, seeds=1)
    changed = _mini()
    changed = dataclasses.replace(changed, quick=dataclasses.replace(changed.quick, lr=0.01))
    with pytest.raises(ConvzooError, match="holds a run with other settings"):
        run_study(changed, quick=True, data_dir=str(tiny_data_dir), out=out, threads=1, seeds=1)
    # A run saved before a setting existed (here: class_balance) ran at its default and is read back.
    from convzoo.train.checkpoint import CHECKPOINT_NAME

    for path in out.glob(f"runs/*/{CHECKPOINT_NAME}"):
        payload = torch.load(path, weights_only=False)
        del payload["config"]["class_balance"]
        torch.save(payload, path)
    again = run_study(_mini(), quick=True, data_dir=str(tiny_data_dir), out=out, threads=1, seeds=1)
    assert again.counts["read back"] == 2 and again.counts["started"] == 0


# ---- the command line --------------------------------------------------------------------------


def test_the_old_spelling_runs_with_a_note_and_the_new_one_without(capsys, tmp_path, monkeypatch):
    """`study NAME` (before `study run NAME`) still works for one release and says the new spelling."""
    monkeypatch.chdir(tmp_path)
    assert main(["study", "kernel", "--quick", "--data", "mnist"]) == 1  # fails on the data, after the name
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("note: `convzoo study kernel` is now `convzoo study run kernel`") and len(err) == 2
    assert main(["study", "run", "kernel", "--quick", "--data", "mnist"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "dataset mnist not found" in err[0]


def test_study_list(capsys):
    assert main(["study", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == list(NAMES) and len(list_studies()) == len(NAMES) == 10
    assert main(["study", "list", "--json"]) == 0
    assert [s["name"] for s in json.loads(capsys.readouterr().out)] == list(NAMES)


@pytest.mark.parametrize("argv,code,message", [
    (["study", "run", "activations"], 1, "unknown study 'activations'; did you mean activation"),
    (["study", "run"], 1, "expected `study list` or `study run NAME`"),
    (["study", "run", "ablation", "kernel"], 1, "expected `study list` or `study run NAME`"),
    (["study", "run", "ablation", "--seeds", "0"], 2, "--seeds must be at least 1"),
    (["study", "run", "ablation", "--seeds", "two"], 2, "--seeds takes a whole number"),
    (["study", "run", "ablation", "--quick", "--data", "fashion-mnst"], 1, "unknown dataset 'fashion-mnst'"),
    (["study", "run", "ablation", "--quick", "--shard", "2/2"], 1, "--shard 2/2"),
    (["study", "run", "kernel", "--quick", "--threads", "-1"], 1, "--threads must be >= 0"),
    (["study", "run", "kernel", "--quick", "--data", "mnist"], 1, "dataset mnist not found"),
])
def test_bad_input_is_one_line(argv, code, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) if code == 2 else contextlib.nullcontext() as exit_info:
        assert main(argv) == code
    if code == 2:
        assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "error:" in err


def test_unwritable_out_is_one_line(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["study", "run", "kernel", "--quick", "--out", str(blocker / "out")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("convzoo: error: cannot write --out") and len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_cli_runs_a_study_and_prints_json(tiny_data_dir, tmp_path, capsys, monkeypatch):
    from convzoo import studies

    monkeypatch.setattr(studies, "get_study", lambda name: _tiny(get_study(name), seeds=1))
    out = tmp_path / "k"
    assert main(["study", "run", "kernel", "--quick", "--data-dir", str(tiny_data_dir), "--out", str(out),
                 "--threads", "1", "--json"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)  # stdout is the JSON alone; the engine's lines went to stderr
    assert result["study"] == "kernel" and result["columns"][0] == "run" and len(result["rows"]) == 2
    assert "[1/2] two-3x3 seed 0: training" in captured.err and "epoch   1" in captured.err
    assert (out / "kernel.png").is_file()
