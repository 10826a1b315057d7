"""MomentumSGD: torch.optim.SGD's update, bit for bit, without the torch._dynamo import."""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest
import torch
from torch import nn

from convzoo.train.optim import MomentumSGD


def _net(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.AdaptiveMaxPool2d(1), nn.Flatten(),
                         nn.Linear(4, 3))


def _groups(net, weight_decay):
    return [{"params": [p for p in net.parameters() if p.ndim > 1], "weight_decay": weight_decay},
            {"params": [p for p in net.parameters() if p.ndim <= 1], "weight_decay": 0.0}]


def _train(net, optimizer, steps, seed=1, lrs=(0.1, 0.05, 0.2)):
    data = torch.Generator().manual_seed(seed)
    for step in range(steps):
        x, y = torch.randn(8, 1, 9, 9, generator=data), torch.randint(0, 3, (8,), generator=data)
        for group in optimizer.param_groups:
            group["lr"] = lrs[step % len(lrs)]  # as the Trainer's schedule sets it
        optimizer.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(net(x), y).backward()
        optimizer.step()


@pytest.mark.parametrize("momentum, nesterov, weight_decay", [(0.9, True, 5e-4), (0.9, False, 1e-2), (0.0, False, 0.0)])
def test_matches_torch_sgd_bit_for_bit(momentum, nesterov, weight_decay):
    ours, theirs = _net(), _net()
    _train(ours, MomentumSGD(_groups(ours, weight_decay), lr=0.1, momentum=momentum, nesterov=nesterov), 7)
    _train(theirs, torch.optim.SGD(_groups(theirs, weight_decay), lr=0.1, momentum=momentum, nesterov=nesterov), 7)
    for a, b in zip(ours.state_dict().values(), theirs.state_dict().values()):
        assert torch.equal(a, b)


def test_state_dicts_load_both_ways_and_training_continues_identically():
    reference = _net()
    torch_sgd = torch.optim.SGD(_groups(reference, 5e-4), lr=0.1, momentum=0.9, nesterov=True)
    _train(reference, torch_sgd, 3)
    saved_weights = {k: v.clone() for k, v in reference.state_dict().items()}
    saved_optimizer = copy.deepcopy(torch_sgd.state_dict())  # its buffers are the live ones
    _train(reference, torch_sgd, 4, seed=2)  # the uninterrupted run

    resumed = _net(seed=9)
    resumed.load_state_dict(saved_weights)
    ours = MomentumSGD(_groups(resumed, 0.0), lr=1.0, momentum=0.5)  # settings come from the saved state
    ours.load_state_dict(saved_optimizer)
    assert ours.param_groups[0]["weight_decay"] == 5e-4 and ours.param_groups[0]["nesterov"]
    _train(resumed, ours, 4, seed=2)
    for a, b in zip(resumed.state_dict().values(), reference.state_dict().values()):
        assert torch.equal(a, b)

    back = torch.optim.SGD(_groups(_net(), 0.0), lr=1.0, momentum=0.9)
    back.load_state_dict(ours.state_dict())  # torch accepts our layout too
    assert torch.equal(back.state_dict()["state"][0]["momentum_buffer"], ours.state_dict()["state"][0]["momentum_buffer"])


def test_a_state_with_other_groups_is_refused():
    net = _net()
    single = MomentumSGD(net.parameters(), lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="other parameter groups"):
        MomentumSGD(_groups(net, 0.0), lr=0.1, momentum=0.9).load_state_dict(single.state_dict())


@pytest.mark.slow  # a cold process that trains
def test_a_training_run_does_not_import_the_compiler(tiny_data_dir, tmp_path):
    """The point of MomentumSGD: a cold `convzoo train` process never pays for torch._dynamo."""
    script = ("import sys\n"
              "from convzoo.train import TrainConfig, Trainer\n"
              f"Trainer(TrainConfig(model='lenet_modern', data_dir={str(tiny_data_dir)!r}, epochs=1, batch_size=64,"
              f" nesterov=True, schedule='onecycle', precision='fp32', progress=False, out={str(tmp_path / 'run')!r})).fit()\n"
              "print('torch._dynamo' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"


# ---- Muon ------------------------------------------------------------------------------------------
def _muon_pair(weight: torch.Tensor, steps=4):
    """The same weight stepped by MomentumSGD's Muon group and by torch.optim.Muon on its 2-D view."""
    ours = weight.clone().requires_grad_(True)
    theirs = weight.reshape(len(weight), -1).clone().requires_grad_(True)
    mine = MomentumSGD([{"params": [ours], "muon": True, "weight_decay": 0.1}], lr=0.05, momentum=0.95,
                       nesterov=True)
    reference = torch.optim.Muon([theirs], lr=0.05, weight_decay=0.1, momentum=0.95, nesterov=True)
    g = torch.Generator().manual_seed(4)
    for _ in range(steps):
        grad = torch.randn(weight.shape, generator=g)
        ours.grad, theirs.grad = grad.clone(), grad.reshape(theirs.shape).clone()
        mine.step()
        reference.step()
    return ours.detach(), theirs.detach()


@pytest.mark.parametrize("shape", [(6, 40), (40, 6)])
def test_orthogonalize_is_torchs_newton_schulz_in_fp32(shape):
    from torch.optim._muon import DEFAULT_A, DEFAULT_B, DEFAULT_C, _zeropower_via_newtonschulz

    from convzoo.train.optim import orthogonalize

    matrix = torch.randn(shape, generator=torch.Generator().manual_seed(2)) * torch.logspace(0, 1, shape[1])
    ours = orthogonalize(matrix)
    theirs = _zeropower_via_newtonschulz(matrix, (DEFAULT_A, DEFAULT_B, DEFAULT_C), 5, 1e-7).float()  # bf16
    assert ours.dtype == torch.float32 and torch.allclose(ours, theirs, atol=0.03)
    singular = torch.linalg.svdvals(ours)
    assert singular.min() > 0.5 and singular.max() < 1.5  # Muon's near-orthogonal (US'V^T, S' in ~[0.5, 1.5])
    assert torch.linalg.svdvals(matrix).max() / torch.linalg.svdvals(matrix).min() > 3  # the input was not


@pytest.mark.parametrize("shape", [(6, 10), (16, 3, 3, 3)])
def test_muon_groups_take_torchs_muon_update(shape):
    start = torch.randn(shape, generator=torch.Generator().manual_seed(0))
    ours, theirs = _muon_pair(start)
    # The same update up to torch's bf16 orthogonalisation (ours is fp32); the steps moved the weight.
    assert torch.allclose(ours.reshape(theirs.shape), theirs, atol=2e-3)
    assert (ours - start).abs().max() > 0.05


def test_muon_steps_a_channels_last_conv_weight_like_a_contiguous_one():
    start = torch.randn(8, 4, 3, 3, generator=torch.Generator().manual_seed(1))
    plain, _ = _muon_pair(start)
    channels_last, _ = _muon_pair(start.contiguous(memory_format=torch.channels_last))
    assert torch.allclose(plain, channels_last, atol=1e-6)


def test_optimizer_muon_leaves_the_first_and_last_layer_and_norms_to_sgd():
    from convzoo.train import TrainConfig
    from convzoo.train.optim import build_optimizer

    net = _net()
    net.insert(3, nn.Conv2d(4, 4, 3, padding=1))  # a hidden layer between the stem and the classifier
    optimizer = build_optimizer(net, TrainConfig(optimizer="muon", lr=0.1, muon_lr=0.02))
    muon, ends, norms = optimizer.param_groups
    assert muon["muon"] and [p.shape for p in muon["params"]] == [(4, 4, 3, 3)]
    assert [p.shape for p in ends["params"]] == [(4, 1, 3, 3), (3, 4)]
    assert all(p.ndim == 1 for p in norms["params"]) and norms["weight_decay"] == 0
    assert muon["lr_ratio"] == pytest.approx(0.2)
