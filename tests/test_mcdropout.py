"""`convzoo eval --mc-dropout N`: dropout sampled at test time, everything else in eval mode."""

from __future__ import annotations

import json
import math

import pytest
import torch
from helpers import run_cli

from convzoo.errors import ConvzooError
from convzoo.models import create_model
from convzoo.train.mcdropout import MAX_PASSES, mc_dropout_evaluate


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny passes: on a shared 2-core machine, two threads mostly wait for each other."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _batches(n: int = 3, size: int = 32):
    g = torch.Generator().manual_seed(0)
    return [(torch.randn(size, 1, 28, 28, generator=g), torch.randint(0, 10, (size,), generator=g)) for _ in range(n)]


def _trained_a_little(dropout: float) -> torch.nn.Module:
    """mnist_convnet with BN whose running statistics are not the initial ones (a few train-mode
    passes), so BN in training mode would give other outputs than BN in eval mode."""
    torch.manual_seed(0)
    model = create_model("mnist_convnet", dropout=dropout)
    with torch.no_grad():
        for x, _ in _batches(4):
            model.train()(x * 3 + 1)
    return model


def _buffers(model):
    return {k: v.clone() for k, v in model.state_dict().items() if "running" in k}


def test_one_pass_with_a_negligible_dropout_is_eval_mode():
    """p = 1e-12 drops nothing: the one pass must then be exactly eval mode's prediction, which it
    is only if batch norm used its running statistics."""
    model = _trained_a_little(0.5)
    for m in model.modules():
        if isinstance(m, torch.nn.Dropout):
            m.p = 1e-12
    batches = _batches()
    with torch.no_grad():
        probs = torch.cat([model.eval()(x).softmax(1) for x, _ in batches])
    labels = torch.cat([y for _, y in batches])
    expected_accuracy = (probs.argmax(1) == labels).double().mean().item()
    expected_entropy = -(probs * probs.log()).sum(1).mean().item()
    r = mc_dropout_evaluate(model, batches, 1)
    assert r.accuracy == r.deterministic_accuracy == r.pass_accuracy_mean == pytest.approx(expected_accuracy)
    assert r.predictive_entropy == pytest.approx(expected_entropy, rel=1e-5)
    assert r.pass_accuracy_sd == 0 and abs(r.mutual_information) < 1e-6


def test_dropout_passes_disagree_and_nothing_else_changes():
    model = _trained_a_little(0.5).train()
    before = _buffers(model)
    r = mc_dropout_evaluate(model, _batches(2, 16), 6)
    assert r.pass_accuracy_sd > 0 and r.mutual_information > 0 and r.dropout_layers == 1
    assert 0 <= r.accuracy <= 1 and r.predictive_entropy <= math.log(10) + 1e-6
    assert all(torch.equal(before[k], v) for k, v in _buffers(model).items()), "BN statistics changed"
    assert model.training and all(m.training for m in model.modules()), "modes not restored"
    again = mc_dropout_evaluate(model, _batches(2, 16), 6)
    assert again == r  # the masks come from a fixed seed


def test_no_dropout_and_bad_counts_are_errors(capsys):
    with pytest.raises(ConvzooError, match="no dropout"):
        mc_dropout_evaluate(create_model("mnist_convnet"), _batches(1), 5)
    for passes in (0, MAX_PASSES + 1):
        with pytest.raises(ConvzooError, match="passes"):
            mc_dropout_evaluate(create_model("mnist_convnet", dropout=0.5), _batches(1), passes)
    code, _, err = run_cli(capsys, "eval", "any.pt", "--mc-dropout", "0")
    assert code == 2 and "--mc-dropout" in err and len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_eval_mc_dropout_from_the_cli(capsys, tmp_path, tiny_data_dir):
    out = tmp_path / "run"
    code, _, _ = run_cli(capsys, "train", "mnist_convnet", "--model-arg", "dropout=0.5", "--data-dir", tiny_data_dir,
                         "--epochs", "1", "--precision", "fp32", "--out", out)
    assert code == 0
    code, stdout, _ = run_cli(capsys, "eval", out, "--mc-dropout", "4", "--json")
    r = json.loads(stdout)
    assert code == 0 and r["passes"] == 4 and r["count"] == 200 and r["pass_accuracy_sd"] >= 0
    code, stdout, _ = run_cli(capsys, "eval", out, "--mc-dropout", "4")
    assert code == 0 and f"{r['accuracy']:.4f}" in stdout and "sd over passes" in stdout


def test_eval_mc_dropout_of_a_model_without_dropout_is_one_line(capsys, tiny_run):
    code, _, err = run_cli(capsys, "eval", tiny_run, "--mc-dropout", "4")  # lenet_modern: no dropout
    assert code != 0 and "no dropout" in err and len(err.strip().splitlines()) == 1
