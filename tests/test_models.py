"""Every registered model: parameter counts, shapes, gradients, small inputs; then family specifics.

Counts and default-input shapes are checked on the meta device (no memory, no arithmetic), so
VGG and ResNeXt-101 cost no more than LeNet; real forward and backward passes run at each model's
smallest accepted input.
"""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F
from helpers import one_per_family_fast
from torch import nn

from convzoo.analysis import count_macs, default_input_macs
from convzoo.errors import ConvzooError
from convzoo.models import count_parameters, create_model, list_models, model_info

ALL = list_models()
SMALL_STEM = [n for n in ALL if model_info(n).small_input_stem]
UNET_VALID_SHRINK = 184  # the paper: 572x572 in, 388x388 out


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """These passes are tiny: on a shared 2-core machine, two threads mostly wait for each other."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def map_hw(name: str, hw: int) -> tuple[int, ...]:
    """Spatial size of a segmentation map (empty for classifiers)."""
    info = model_info(name)
    if info.family != "unet":
        return ()
    return (hw, hw) if info.fixed.get("padding") else (hw - UNET_VALID_SHRINK,) * 2


def test_registry_is_complete():
    families = {model_info(n).family for n in ALL}
    assert {"lenet", "mlp", "alexnet", "vgg", "nin", "googlenet", "resnet", "resnext", "wide_resnet",
            "densenet", "senet", "shufflenet", "unet"} <= families
    for name in ALL:
        info = model_info(name)
        assert info.paper and 1980 < info.year < 2030 and info.params > 0, name
        assert 1 <= info.min_size <= info.input_size[1], name
        if info.small_input_stem:
            assert info.min_size <= 28, name


@pytest.mark.parametrize("name", one_per_family_fast(ALL))
def test_parameter_count_and_output_at_the_default_input(name):
    info = model_info(name)
    with torch.device("meta"):
        model = create_model(name)
        assert count_parameters(model) == info.params
        out = model.eval()(torch.empty(2, *info.input_size))
    assert out.shape == (2, info.num_classes, *map_hw(name, info.input_size[1]))


@pytest.mark.parametrize("name", one_per_family_fast(ALL))
def test_forward_backward_on_smallest_input(name):
    size = model_info(name).min_size
    channels = 2  # not any paper's: in_channels must reach the first layer
    torch.manual_seed(0)
    model = create_model(name, num_classes=42, in_channels=channels, input_size=size)
    # In training mode a model with auxiliary heads returns (logits, aux...): each is checked and trained.
    outputs = model(torch.randn(2, channels, size, size))
    out, *_ = outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    assert all(o.shape == (2, 42, *map_hw(name, size)) and torch.isfinite(o).all() for o in outputs)
    target = torch.randint(0, 42, (2, *out.shape[2:]))
    sum(F.cross_entropy(o, target) for o in outputs).backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), pname


# Families whose min_size is set by the layers themselves (a pool or valid conv runs out of pixels);
# the others (ResNet, ShuffleNet, VGG) stop where the last stage reaches 1x1, by choice.
LAYER_BOUND = {"lenet", "alexnet", "nin", "googlenet", "inception", "densenet", "unet"}


@pytest.mark.parametrize("name", one_per_family_fast([n for n in ALL if model_info(n).family in LAYER_BOUND]))
@pytest.mark.filterwarnings("ignore:Initializing zero-element tensors")  # LeNet's dense layer at 11x11
def test_min_size_is_tight(name):
    """One pixel less than `min_size` really fails (at construction or in the forward pass)."""
    info = model_info(name)
    size = info.min_size - 1
    with torch.device("meta"), pytest.raises((ConvzooError, RuntimeError)):
        model = info.builder(num_classes=3, in_channels=info.input_size[0], input_size=(size, size),
                             **info.fixed)
        model(torch.empty(2, info.input_size[0], size, size))
    with pytest.raises(ConvzooError, match="at least"):
        create_model(name, input_size=size)


@pytest.mark.parametrize("name", one_per_family_fast(SMALL_STEM))
@pytest.mark.parametrize("size", [28, 32])
def test_small_inputs(name, size):
    """Shapes only: built on the meta device, then given uninitialised CPU memory (no init cost);
    a CPU forward of a deep net at 28x28 is cheaper than the same forward on meta."""
    with torch.device("meta"):
        model = create_model(name, num_classes=5, input_size=size)
    model = model.to_empty(device="cpu").eval()
    with torch.no_grad():
        out = model(torch.zeros(1, model_info(name).input_size[0], size, size))
    assert out.shape == (1, 5)


# --- layer-by-layer shape tables, as the lectures print them -------------------------------

def shapes_after(model: nn.Module, kinds: tuple[type, ...], input_shape: tuple[int, ...]) -> list[tuple]:
    shapes = []
    hooks = [m.register_forward_hook(lambda m, i, o: shapes.append(tuple(o.shape[1:])))
             for m in model.modules() if isinstance(m, kinds)]
    with torch.device("meta"):
        model.eval()(torch.empty(input_shape))
    for h in hooks:
        h.remove()
    return shapes


def test_lenet_shape_table_on_28x28():
    with torch.device("meta"):
        model = create_model("lenet")
    assert shapes_after(model, (nn.Conv2d, nn.AvgPool2d, nn.Linear), (1, 1, 28, 28)) == [
        (6, 28, 28), (6, 14, 14), (16, 10, 10), (16, 5, 5), (120,), (84,), (10,)]


def test_alexnet_small_shape_table_on_224x224():
    with torch.device("meta"):
        model = create_model("alexnet_small")
    assert shapes_after(model, (nn.Conv2d, nn.MaxPool2d, nn.Flatten, nn.Linear), (1, 1, 224, 224)) == [
        (96, 54, 54), (96, 26, 26), (256, 26, 26), (256, 12, 12), (384, 12, 12), (384, 12, 12),
        (256, 12, 12), (256, 5, 5), (6400,), (4096,), (4096,), (10,)]


def test_vgg11_shape_table_on_224x224():
    with torch.device("meta"):
        model = create_model("vgg11")
    assert shapes_after(model, (nn.MaxPool2d, nn.Linear), (1, 3, 224, 224)) == [
        (64, 112, 112), (128, 56, 56), (256, 28, 28), (512, 14, 14), (512, 7, 7), (4096,), (4096,), (1000,)]


# --- family specifics ---------------------------------------------------------------------

def test_lenet5_1998_counts_layer_by_layer():
    model = create_model("lenet5_1998")
    layers = [m for m in model if count_parameters(m)]
    assert [count_parameters(m) for m in layers] == [156, 12, 1516, 32, 48_120, 10_164]
    codes = model[-1].codes
    assert codes.shape == (10, 84) and set(codes.unique().tolist()) == {-1.0, 1.0}
    assert "codes" not in dict(model.named_parameters())


def test_lenet5_1998_c3_follows_table_1():
    from convzoo.models.lenet5_1998 import C3_TABLE

    c3 = create_model("lenet5_1998")[4]
    x = torch.randn(1, 6, 14, 14, requires_grad=True)
    for j in range(16):
        (grad,) = torch.autograd.grad(c3(x)[0, j].sum(), x)
        seen = (grad[0].abs().sum(dim=(1, 2)) > 0).tolist()
        assert seen == [row[j] == "X" for row in C3_TABLE], j


def test_lenet5_1998_output_is_minus_distance_to_the_codes_and_trains():
    torch.manual_seed(0)
    model = create_model("lenet5_1998", input_size=28)
    rbf = model[-1]
    assert torch.equal(rbf(rbf.codes[[3, 7]]).argmax(dim=1), torch.tensor([3, 7]))  # nearest code wins
    assert (rbf(torch.randn(4, 84)) <= 0).all()
    templates = torch.randn(10, 1, 28, 28)  # a learnable task: each class is a noisy template
    y = torch.arange(20) % 10
    x = templates[y] + 0.5 * torch.randn(20, 1, 28, 28)
    opt = torch.optim.SGD(model.parameters(), lr=0.03, momentum=0.9)
    losses = []
    for _ in range(20):
        loss = F.cross_entropy(model(x), y)
        losses.append(loss.item())
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert losses[-1] < 0.5 * losses[0]
    assert (model(x).argmax(dim=1) == y).float().mean() >= 0.9


def test_alexnet_two_gpu_split_count():
    with torch.device("meta"):
        assert count_parameters(create_model("alexnet", groups=2)) == 60_965_224


def test_googlenet_aux_heads_only_in_training():
    with torch.device("meta"):
        model = create_model("googlenet_tv", aux_logits=True)
        assert count_parameters(model) == 13_004_888  # torchvision's count with aux heads
        out = model.train()(torch.empty(2, 3, 224, 224))
        assert isinstance(out, tuple) and [o.shape for o in out] == [(2, 1000)] * 3
        assert model.eval()(torch.empty(2, 3, 224, 224)).shape == (2, 1000)


def test_googlenet_branches_use_5x5_as_published():
    with torch.device("meta"):
        paper, tv = create_model("googlenet"), create_model("googlenet_tv")

    def kernels(model):
        return {m.kernel_size for m in model.modules() if isinstance(m, nn.Conv2d)}
    assert (5, 5) in kernels(paper) and (5, 5) not in kernels(tv)


def test_stem_follows_input_size_and_can_be_forced():
    with torch.device("meta"):
        assert create_model("resnet18").stem[0].kernel_size == (7, 7)
        assert create_model("resnet18", input_size=32).stem[0].kernel_size == (3, 3)
        assert create_model("resnet18", input_size=32, stem="imagenet").stem[0].kernel_size == (7, 7)
    with pytest.raises(ConvzooError):
        create_model("resnet18", stem="tiny")


def test_vgg_skips_only_the_pools_a_small_map_cannot_take():
    def pools(size):
        with torch.device("meta"):
            return sum(isinstance(m, nn.MaxPool2d) for m in create_model("vgg11", input_size=size).modules())
    assert (pools(224), pools(32), pools(28), pools(16)) == (5, 5, 4, 4)


def test_vgg_width_scales_the_convs():
    with torch.device("meta"):
        narrow = create_model("vgg11_narrow")
    assert max(m.out_channels for m in narrow.modules() if isinstance(m, nn.Conv2d)) == 512 // 4


@pytest.mark.parametrize("name", ["alexnet", "nin", "vgg16"])
def test_batch_norm_option_adds_one_norm_per_conv(name):
    with torch.device("meta"):
        plain, normed = create_model(name), create_model(name, batch_norm=True)
    convs = [m for m in normed.modules() if isinstance(m, nn.Conv2d)]
    assert sum(isinstance(m, nn.BatchNorm2d) for m in normed.modules()) == len(convs)
    assert count_parameters(normed) - count_parameters(plain) == sum(2 * c.out_channels for c in convs)


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_resnet_versions_build_and_run(version):
    with torch.device("meta"):
        v15 = count_parameters(create_model("resnet50"))
        model = create_model("resnet50", version=version)
        assert model(torch.empty(2, 3, 64, 64)).shape == (2, 1000)
    if version == "v1":
        assert count_parameters(model) == v15  # the stride moves, no weight changes
    else:  # pre-activation: one BN per block input (+ the head) instead of one per branch end
        assert any(isinstance(m, nn.BatchNorm2d) for m in model.head)


def test_cifar_resnets_round_to_the_paper_and_have_parameter_free_shortcuts():
    paper = {"resnet20": 0.27, "resnet32": 0.46, "resnet44": 0.66, "resnet56": 0.85, "resnet110": 1.7}
    for name, millions in paper.items():
        params = model_info(name).params
        assert round(params / 1e6, 2 if millions < 1 else 1) == millions, name
    with torch.device("meta"):
        model = create_model("resnet56")
    shortcuts = [m.shortcut for m in model.modules() if hasattr(m, "shortcut")]
    assert len(shortcuts) == 27 and all(count_parameters(s) == 0 for s in shortcuts)


def test_densenet_bc_is_about_0_8m():
    assert round(model_info("densenet_bc_100_12").params / 1e6, 1) == 0.8


# Table 2 of the ShuffleNet paper: MFLOPs (multiply-adds) at 224x224, 1x width.
SHUFFLENET_PAPER_MMACS = {1: 143, 2: 140, 3: 137, 4: 133, 8: 137}


@pytest.mark.parametrize("groups", [g if g == 3 else pytest.param(g, marks=pytest.mark.slow)
                                    for g in sorted(SHUFFLENET_PAPER_MMACS)])
def test_shufflenet_v1_macs_match_the_paper(groups):
    macs = default_input_macs(f"shufflenet_v1_g{groups}")  # 3x224x224, as the paper
    assert abs(macs / 1e6 / SHUFFLENET_PAPER_MMACS[groups] - 1) < 0.05


def test_unet_valid_output_is_cropped_and_padded_output_keeps_the_size():
    with torch.device("meta"):
        assert create_model("unet")(torch.empty(1, 1, 572, 572)).shape == (1, 2, 388, 388)
        assert create_model("unet_padded", input_size=30)(torch.empty(1, 1, 30, 45)).shape == (1, 2, 30, 45)
    with pytest.raises(ConvzooError, match="12 mod 16"):
        create_model("unet", input_size=200)


def test_count_macs_of_a_conv_and_a_linear_layer():
    model = nn.Sequential(nn.Conv2d(3, 4, 3, groups=1), nn.Flatten(), nn.Linear(4 * 6 * 6, 5))
    model.train()
    assert count_macs(model, (2, 3, 8, 8)) == 2 * (4 * 3 * 9 * 36 + 4 * 36 * 5)
    assert model.training  # restored


def test_models_cli_table_and_macs(capsys):
    from convzoo.cli import main

    assert main(["models", "resnet*"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["name", "family", "year", "params", "input", "small_stem"]
    assert len(lines) == 1 + len(list_models("resnet*")) and "11,689,512" in "".join(lines)
    assert main(["models", "shufflenet_v1_g", "--json"]) == 0  # a substring lists, even one match
    assert [r["name"] for r in json.loads(capsys.readouterr().out)] == list_models("shufflenet_v1_g")
    assert main(["models", "shufflenet_v1_g3", "--json", "--macs"]) == 0  # an exact name shows one model
    row = json.loads(capsys.readouterr().out)
    # The paper's Table 2 figure (137 MFLOPs, i.e. multiply-adds), not the CLI's own function again.
    assert abs(row["macs"] / 1e6 / SHUFFLENET_PAPER_MMACS[3] - 1) < 0.05 and row["small_stem"] is True
    assert {o["name"]: o["default"] for o in row["options"]}["groups"] == 3
