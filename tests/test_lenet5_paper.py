"""LeNet-5 trained as its paper trained it: input scaling, init, RBF codes, MAP loss, SDLM, schedule, recipe."""

import math

import pytest
import torch
from torch import nn

from convzoo.data import ArrayDataset, DataBundle
from convzoo.data.batches import Normalizer
from convzoo.models import create_model
from convzoo.models.lenet5_1998 import EuclideanRBF, digit_codes
from convzoo.train.loaders import with_normalization
from convzoo.train.recipes import RECIPES
from convzoo.train.schedule import LECUN98_PASS, lr_factor
from convzoo.train.sdlm import SDLM, second_derivatives
from convzoo.train.tasks import map_loss_sum


def _bundle(n=4):
    data = ArrayDataset(torch.zeros(n, 1, 28, 28, dtype=torch.uint8), torch.zeros(n, dtype=torch.long),
                        tuple("0123456789"), (0.13,), (0.31,))
    return DataBundle("tiny", data, data)


def test_lecun98_scaling_puts_background_at_minus_0_1_and_ink_at_1_175():
    bundle = with_normalization(_bundle(), "lecun98")
    for split in (bundle.train, bundle.test):
        x = Normalizer(split.mean, split.std)(torch.tensor([0, 255], dtype=torch.uint8).view(1, 1, 1, 2))
        assert x.flatten().tolist() == pytest.approx([-0.1, 1.175], abs=1e-6)
    assert with_normalization(_bundle(), "dataset").train.mean == (0.13,)  # unchanged


def test_padding_to_32_is_done_with_the_background_value():
    model = create_model("lenet5_1998", input_size=28, background=-0.1)
    c1 = model[0]
    x = torch.randn(2, 1, 28, 28)
    padded = torch.full((2, 1, 32, 32), -0.1)
    padded[:, :, 2:30, 2:30] = x
    assert torch.allclose(c1(x), nn.functional.conv2d(padded, c1.weight, c1.bias), atol=1e-6)


@pytest.mark.parametrize("init", ["paper", "sqrt"])
def test_init_is_uniform_within_the_fan_in_bound(init):
    torch.manual_seed(0)
    model = create_model("lenet5_1998", init=init)
    layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert len(layers) == 6  # C1, C3's three partial convs, C5, F6
    for m in layers:
        fan_in = m.weight[0].numel()
        bound = 2.4 / fan_in if init == "paper" else math.sqrt(3 / fan_in)
        assert m.weight.abs().max() <= bound and m.bias.abs().max() <= bound
        assert m.weight.abs().max() > 0.8 * bound  # spread over the whole interval, not a narrower one


def test_digit_codes_are_ten_distinct_7x12_bitmaps():
    codes = digit_codes()
    assert codes.shape == (10, 84) and set(codes.unique().tolist()) == {-1.0, 1.0}
    distances = torch.cdist(codes, codes, p=1) / 2  # differing pixels
    assert distances[~torch.eye(10, dtype=bool)].min() >= 5
    one = codes[1].view(12, 7)
    assert one[:, 3].sum() > 0 and one[0].sum() == -7  # a vertical stroke in the middle, blank top row
    rbf = create_model("lenet5_1998", codes="digits")[-1]
    assert torch.equal(rbf.codes, codes)


def test_map_loss_matches_the_papers_formula_by_hand():
    penalties = torch.tensor([[1.0, 2.0, 3.0], [0.5, 0.1, 4.0]])  # y_i: squared distances
    targets = torch.tensor([0, 1])
    by_hand = sum(y[d] + math.log(math.exp(-0.1) + sum(math.exp(-v) for v in y))
                  for y, d in zip(penalties.tolist(), targets.tolist()))
    assert map_loss_sum(-penalties, targets).item() == pytest.approx(by_hand, rel=1e-6)


def test_second_derivatives_of_rbf_head_and_two_layers_by_hand():
    torch.manual_seed(0)
    x = torch.randn(5, 3)
    f6 = nn.Linear(3, 84)
    h = second_derivatives(nn.Sequential(f6, EuclideanRBF(10)), x)
    # y_D's second derivative in each RBF input is 2; into w_kj it is 2 x_j^2, into the bias 2
    assert torch.allclose(h[f6.weight], 2 * (x ** 2).mean(0).expand(84, 3), rtol=1e-5)
    assert torch.allclose(h[f6.bias], torch.full((84,), 2.0))

    first, second = nn.Linear(3, 2), nn.Linear(2, 4)
    h = second_derivatives(nn.Sequential(first, nn.Tanh(), second), x, criterion="cross-entropy")
    with torch.no_grad():
        a = first(x)
        p = second(torch.tanh(a)).softmax(1)
    seed = p * (1 - p)  # (5, 4): the softmax's Gauss-Newton diagonal
    assert torch.allclose(h[second.weight], (seed.T @ torch.tanh(a) ** 2) / 5, rtol=1e-5)
    at_a = (seed @ second.weight.detach() ** 2) * (1 - torch.tanh(a) ** 2) ** 2  # (5, 2)
    assert torch.allclose(h[first.weight], (at_a.T @ x ** 2) / 5, rtol=1e-5)
    assert torch.allclose(h[first.bias], at_a.mean(0), rtol=1e-5)


def test_sdlm_step_is_lr_times_batch_over_mu_plus_h():
    layer = nn.Linear(2, 1)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, -2.0]]))
        layer.bias.fill_(0.5)
    optimizer = SDLM(layer, lr=0.01, mu=0.02, batch_size=4)
    optimizer.hessian[layer.weight] = torch.tensor([[0.08, 0.0]])
    layer.weight.grad = torch.tensor([[1.0, 3.0]])
    layer.bias.grad = torch.tensor([2.0])
    optimizer.step()
    # w0: 1 - 0.01*4/(0.02+0.08)*1 = 0.6; w1: -2 - 0.04/0.02*3 = -8; bias (h 0): 0.5 - 2*2 = -3.5
    assert layer.weight.tolist() == [[pytest.approx(0.6), pytest.approx(-8.0)]]
    assert layer.bias.item() == pytest.approx(-3.5)


def test_lecun98_schedule_is_the_papers_eta():
    per_step = LECUN98_PASS // 10  # ten steps a pass
    etas = [0.0005 * lr_factor("lecun98", paper_pass * 10, 200, batch_size=per_step) for paper_pass in range(14)]
    assert etas == pytest.approx([0.0005] * 2 + [0.0002] * 3 + [0.0001] * 3 + [0.00005] * 4 + [0.00001] * 2)


def test_lecun98_schedule_pass_stretches_every_step_down():
    """--schedule-pass 120000: each eta lasts twice the digits (the paper's pass over a larger set)."""
    digits = [pass_index * LECUN98_PASS for pass_index in range(26)]
    stretched = [lr_factor("lecun98", d // 100, 10**6, batch_size=100, pass_size=2 * LECUN98_PASS) for d in digits]
    plain = [lr_factor("lecun98", d // 100, 10**6, batch_size=100) for d in digits]
    assert stretched == [plain[i // 2] for i in range(26)]
    config = RECIPES["lenet5-paper-distort"].config()
    assert config.schedule_pass == 2 * LECUN98_PASS and RECIPES["lenet5-paper"].config().schedule_pass == LECUN98_PASS
    assert config.epochs * 9000 >= 20 * config.schedule_pass  # 20 of its passes


def test_the_paper_recipe_resolves_to_the_papers_settings():
    config = RECIPES["lenet5-paper"].config(seed=3)
    assert (config.model, config.normalize, config.loss, config.optimizer, config.schedule) == (
        "lenet5_1998", "lecun98", "map", "sdlm", "lecun98")
    assert (config.sdlm_mu, config.sdlm_samples, config.seed) == (0.02, 500, 3)
    assert config.epochs * 9000 >= 20 * LECUN98_PASS  # the paper's 20 passes of 60,000 digits, on 9,000
    assert config.lr == pytest.approx(0.0005 / 50)  # the paper's eta, scaled (docs/baselines.md)
    model = create_model(config.model, input_size=28, **config.model_kwargs)
    assert model[0].background == -0.1 and torch.equal(model[-1].codes, digit_codes())


@pytest.mark.slow
def test_the_paper_recipe_learns_digits(tmp_path):
    from convzoo.train import Trainer

    config = RECIPES["lenet5-paper"].config(train_size=1000, epochs=3, sdlm_samples=100, threads=1,
                                           progress=False, out=str(tmp_path / "run"))
    trainer = Trainer(config)
    result = trainer.fit()
    assert result["test_acc"] > 0.3  # 10 classes: chance is 0.1 (the paper's scaled eta learns slowly at first)
    # 3,000 digits seen are within the paper's first pass of 60,000: the first eta throughout (an
    # epoch-based schedule would have stepped down at the third epoch of 1,000)
    assert [r["lr"] for r in trainer.history] == pytest.approx([config.lr] * 3)


def test_planar_distortion_identity_shift_and_seeded_draws():
    from convzoo.data.batches import Augment, AugmentDraw, augment_batch
    from convzoo.data.distort import planar_batch

    images = torch.zeros(2, 1, 28, 28, dtype=torch.uint8)
    images[:, 0, 10, 12] = 200
    identity = torch.tensor([[1.0, 0, 0], [0, 1.0, 0]]).expand(2, 2, 3)
    assert torch.equal(planar_batch(images, identity), images)
    right_two = torch.tensor([[1.0, 0, -4 / 28], [0, 1.0, 0]]).expand(2, 2, 3)  # sample 2 pixels to the left
    assert planar_batch(images, right_two)[0, 0, 10].argmax().item() == 14
    augment = Augment.parse("planar")
    digits = torch.randint(0, 256, (4, 1, 28, 28), dtype=torch.uint8)
    draws = [AugmentDraw.draw(augment, 4, torch.Generator().manual_seed(s), (1, 28, 28)) for s in (0, 0, 1)]
    out = [augment_batch(digits, augment, d) for d in draws]
    assert torch.equal(out[0], out[1]) and not torch.equal(out[0], out[2]) and not torch.equal(out[0], digits)
    assert RECIPES["lenet5-paper-distort"].config().augment == "planar"


def test_planar_distortion_leaves_the_papers_tenth_undistorted():
    # the paper trained on its 60,000 digits plus 540,000 distortions of them: 1 in 10 undistorted
    from convzoo.data.distort import ORIGINALS, draw_planar

    theta = draw_planar(20_000, (28, 28), torch.Generator().manual_seed(0))
    identity = torch.tensor([[1.0, 0, 0], [0, 1.0, 0]])
    undistorted = (theta - identity).abs().amax(dim=(1, 2)) < 1e-6
    assert ORIGINALS == pytest.approx(0.1)
    assert abs(undistorted.float().mean().item() - ORIGINALS) < 0.01
