"""A run's compute (train/compute.py) and the CPU's estimated peak (bench/peak.py): counts that
are the same on every machine, checked against hand arithmetic."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from convzoo.bench.peak import estimate_peak, fma_lanes
from convzoo.train import TrainConfig, Trainer
from convzoo.train.compute import forward_flops_per_image, optimizer_flops, run_compute, step_flops_per_image
from convzoo.train.optim import MomentumSGD


def test_training_flops_are_forward_plus_weight_gradients_plus_hidden_input_gradients():
    # 784 -> 32 -> 10: forward is two products; backward computes each layer's weight gradient and
    # the gradient into the hidden layer, but none into the images (they need no gradient).
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 10))
    first, second = 2 * 784 * 32, 2 * 32 * 10
    assert forward_flops_per_image(model, (1, 28, 28)) == first + second
    assert step_flops_per_image(model, (1, 28, 28)) == (first + second) + (first + second) + second


def test_a_convs_flops_scale_with_its_output_pixels():
    conv = nn.Conv2d(3, 8, 3, padding=1)
    # 8 outputs of 3*3*3 multiply-adds at each of 16*16 pixels, two FLOPs each.
    assert forward_flops_per_image(conv, (3, 16, 16)) == 2 * 8 * 27 * 16 * 16
    assert forward_flops_per_image(conv, (3, 32, 32)) == 4 * forward_flops_per_image(conv, (3, 16, 16))


def test_muon_counts_its_newton_schulz_products_and_sgd_counts_none():
    weight = nn.Parameter(torch.zeros(16, 8, 3, 3))
    sgd = MomentumSGD([weight], lr=0.1, momentum=0.9)
    assert optimizer_flops(sgd) == 0
    muon = MomentumSGD([{"params": [weight], "muon": True}], lr=0.1, momentum=0.9)
    # Five iterations on the 16 x 72 update: gram 16x72 @ 72x16, gram @ gram, and (16x16) @ (16x72).
    n, m = 16, 72
    per_iteration = 2 * (n * m * n + n * n * n + n * n * m)
    assert optimizer_flops(muon) == 5 * per_iteration


@pytest.mark.slow
def test_a_run_reports_the_images_it_saw_and_its_flops(tiny_data_dir, tmp_path):
    config = TrainConfig(model="lenet_modern", data="fashion-mnist", data_dir=str(tiny_data_dir), epochs=2,
                         batch_size=64, out=str(tmp_path / "run"), progress=False, threads=1)
    trainer = Trainer(config)
    trainer.fit()
    compute = run_compute(trainer).to_dict()
    per_epoch = (600 // 64) * 64  # the last partial batch is dropped
    assert compute["images_seen"] == 2 * per_epoch
    assert compute["train_flops"] == pytest.approx(2 * per_epoch * compute["train_flops_per_image"])
    forward = forward_flops_per_image(trainer.model, (1, 28, 28))
    assert compute["eval_flops"] == pytest.approx(2 * 200 * forward)  # the test set after each epoch
    assert 2 * forward < compute["train_flops_per_image"] < 3 * forward + 1


def test_the_peak_estimate_multiplies_threads_lanes_two_and_the_clock():
    assert fma_lanes("AuthenticAMD", 25, {"avx2", "fma", "avx512f"})[0] == 16  # Zen 4: two 256-bit pipes
    assert fma_lanes("AuthenticAMD", 25, {"avx2", "fma"})[0] == 16  # Zen 3
    assert fma_lanes("GenuineIntel", 6, {"avx2", "fma", "avx512f"})[0] == 32
    estimate = estimate_peak(threads=2)
    if estimate:  # Linux: /proc/cpuinfo is there
        assert estimate["fp32"] > 0 and "x 2 FLOPs per FMA" in estimate["how"]
        assert estimate["bf16"] in (estimate["fp32"], 2 * estimate["fp32"])
        assert estimate_peak(threads=1)["fp32"] == pytest.approx(estimate["fp32"] / 2)


def test_bench_recipe_count_gives_a_runs_images_and_flops_without_training(capsys, tiny_data_dir):
    import json

    from convzoo.cli import main

    args = ["bench", "recipe", "fast", "--count", "--json", "--data-dir", str(tiny_data_dir), "--"]
    assert main([*args, "--epochs", "1", "--batch-size", "100"]) == 0
    one = json.loads(capsys.readouterr().out)
    assert main([*args, "--epochs", "2", "--batch-size", "100"]) == 0
    two = json.loads(capsys.readouterr().out)
    assert (one["images_seen"], two["images_seen"]) == (600, 1200)
    steps = 6  # per epoch: 600 images in batches of 100
    assert one["train_flops"] == pytest.approx(600 * one["train_flops_per_image"] + steps * one["optimizer_flops_per_step"])
    assert two["train_flops"] == pytest.approx(2 * one["train_flops"])
    assert main([*args, "--bogus"]) == 1
    assert capsys.readouterr().err.count("\n") == 1
