"""Model numbers: summaries against the registry, the complexity table by hand, receptive fields
against the gradient of one output pixel."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from convzoo.analysis.complexity import compare, lecture_checks, model_complexity
from convzoo.analysis.loading import load_model, parse_input
from convzoo.analysis.receptive import GLOBAL, receptive_fields
from convzoo.analysis.summary import summarize
from convzoo.cli import main
from convzoo.errors import ConvzooError
from convzoo.layers import BasicBlock
from convzoo.models import create_model, model_info

# LeNet plus one model of each zoo family.
SUMMARY_MODELS = ["lenet", "lenet5_1998", "lenet_bn", "lenet_modern", "alexnet_small", "vgg16", "resnet18", "resnet20",
                  pytest.param("se_resnet50", marks=pytest.mark.slow), "googlenet",
                  pytest.param("densenet_bc_100_12", marks=pytest.mark.slow), "nin", "shufflenet_v2_x1_0", "unet"]


@pytest.mark.parametrize("name", SUMMARY_MODELS)
def test_summary_totals_match_the_registry_and_the_rows_add_up(name):
    loaded = load_model(name, device="meta")
    for depth in (None, 1):
        s = summarize(loaded.model, loaded.input_shape, depth, name)
        assert s.params == model_info(name).params
        assert sum(r.params or 0 for r in s.rows) == s.params
        assert sum(r.macs or 0 for r in s.rows) == s.macs > 0
        assert all((r.macs or 0) >= 0 and (r.params or 0) >= 0 for r in s.rows)  # no row is negative
        assert s.param_bytes == 4 * s.params and s.activation_bytes > 0
    assert s.flops == 2 * s.macs


def test_lenet_multiply_adds_are_the_hand_count():
    """d2l's LeNet on 28x28, counted by hand: output elements x kernel volume per layer."""
    conv1 = 6 * 28 * 28 * (1 * 5 * 5)  # padding 2 keeps 28x28
    conv2 = 16 * 10 * 10 * (6 * 5 * 5)
    linears = 400 * 120 + 120 * 84 + 84 * 10
    loaded = load_model("lenet", device="meta")
    assert summarize(loaded.model, loaded.input_shape).macs == conv1 + conv2 + linears == 416_520


def test_lenet5_1998_c3_is_its_three_partial_convolutions():
    """C3's convolutions live in a ModuleList its module loops over: the list is never called, so its
    rows are its convolutions' (no negative count), and at depth 1 C3 shows their totals."""
    loaded = load_model("lenet5_1998", device="meta")
    rows = {r.name: r for r in summarize(loaded.model, loaded.input_shape).rows}
    assert "4.convs" not in rows and [rows[f"4.convs.{i}"].macs for i in range(3)] == [45_000, 90_000, 15_000]
    shallow = {r.name: r for r in summarize(loaded.model, loaded.input_shape, depth=1).rows}
    assert (shallow["4"].params, shallow["4"].macs) == (1_516, 150_000)  # the lecture's C3
    held = {r.name: r for r in summarize(loaded.model, loaded.input_shape, depth=2).rows}["4.convs"]
    assert held.held and (held.params, held.macs) == (1_516, 150_000)


def test_lenet_summary_by_hand():
    s = summarize(create_model("lenet"), (1, 28, 28))
    rows = {r.name: r for r in s.rows}
    assert [r.type for r in s.rows][:3] == ["Conv2d", "Sigmoid", "AvgPool2d"]
    assert rows["0"].shape == [6, 28, 28] and rows["0"].params == 6 * 25 + 6
    assert rows["0"].macs == 6 * 28 * 28 * 25  # one multiply-add per weight per output pixel
    assert rows["3"].shape == [16, 10, 10] and rows["3"].macs == 16 * 10 * 10 * 6 * 25
    assert rows["7"].macs == 400 * 120 and rows["2"].macs is None  # pooling: not counted, not zero
    # every leaf output, fp32, one example
    leaf_values = 2 * 6 * 28 * 28 + 6 * 14 * 14 + 2 * 16 * 10 * 10 + 2 * 16 * 5 * 5 + 2 * 120 + 2 * 84 + 10
    assert s.activation_bytes == 4 * leaf_values
    assert s.macs == 117_600 + 240_000 + 48_000 + 10_080 + 840


def test_frozen_parameters_are_counted_apart():
    model = create_model("lenet")
    model[0].requires_grad_(False)
    s = summarize(model, (1, 28, 28))
    assert (s.params, s.trainable) == (61_706, 61_706 - 156) and s.rows[0].trainable == 0


def test_summary_depth_limits_nesting_and_checkpoints_stand_in_for_names(tiny_run):
    loaded = load_model("alexnet_small", device="meta")
    shallow = summarize(loaded.model, loaded.input_shape, depth=1)
    assert [r.name for r in shallow.rows] == ["0", "1"] and shallow.rows[0].shape == [6400]
    trained = load_model(str(tiny_run), weights=False, device="meta")
    assert trained.input_shape == (1, 28, 28) and "lenet_modern" in trained.label
    assert summarize(trained.model, trained.input_shape).params == model_info("lenet_modern").params


def test_input_parsing_and_errors():
    assert parse_input("3x32x32", (1, 28, 28)) == (3, 32, 32)
    assert parse_input("64", (3, 224, 224)) == (3, 64, 64)
    assert parse_input(None, (1, 28, 28)) == (1, 28, 28)
    for bad in ("axb", "1x0x5", "1x2x3x4"):
        with pytest.raises(ConvzooError):
            parse_input(bad, (1, 28, 28))


def test_summary_cli(capsys, tiny_run):
    assert main(["summary", "lenet"]) == 0
    out = capsys.readouterr().out
    assert "61,706" in out and "416,520 MACs = 833,040 FLOPs" in out and "1 MAC = 2 FLOPs" in out
    assert "—" in out and "FlopCounterMode counts convolutions" in out
    assert main(["summary", "lenet", "--json", "--input", "1x32x32"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["input_shape"] == [1, 32, 32] and data["rows"][0]["shape"] == [6, 32, 32]
    assert main(["summary", str(tiny_run)]) == 0
    assert "lenet_modern" in capsys.readouterr().out


def test_unknown_model_is_one_line_with_suggestions(capsys):
    assert main(["summary", "lenett"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "did you mean lenet" in err
    assert main(["summary", "lenet", "--input", "1x4x4"]) == 1
    assert "at least 12x12" in capsys.readouterr().err
    assert main(["receptive-field", "runs/nowhere/checkpoint.pt"]) == 1
    assert "no such checkpoint" in capsys.readouterr().err


# ---- complexity ------------------------------------------------------------------------------
def test_complexity_groups_by_hand():
    lenet = model_complexity("lenet")
    groups = {g.name: g for g in lenet.groups}
    assert list(groups) == ["conv1", "conv2", "dense1", "dense2", "dense3", "total"]
    assert groups["conv1"].params == 6 * 5 * 5 * 1 + 6 and groups["conv1"].weights == 150
    assert groups["conv1"].macs == 6 * 28 * 28 * 25
    assert groups["dense1"].params == 400 * 120 + 120
    assert groups["total"].params == 61_706 == sum(g.params for g in lenet.groups[:-1])

    alexnet = model_complexity("alexnet_small")
    groups = {g.name: g for g in alexnet.groups}
    assert groups["conv1"].params == 96 * 11 * 11 * 1 + 96  # 11,712 for the 1-channel textbook input
    assert groups["conv2"].macs == 256 * 26 * 26 * 96 * 5 * 5
    assert groups["conv3-5"].params == (384 * 256 + 384 * 384 + 256 * 384) * 9 + 384 + 384 + 256
    assert groups["dense1"].params == 256 * 5 * 5 * 4096 + 4096
    assert groups["total"].params == 46_764_746 and groups["total"].macs == sum(g.macs for g in alexnet.groups[:-1])
    rgb = {g.name: g for g in model_complexity("alexnet_small@3x224x224").groups}
    assert rgb["conv1"].params == 96 * 11 * 11 * 3 + 96 == 34_944  # the lecture's 35K


def test_lecture_figures_are_explained():
    checks = {(c.group, c.measure): c for c in lecture_checks(model_complexity("lenet"))}
    assert checks[("conv1", "params")].convention.startswith("weights only")  # 150, not 156
    assert checks[("dense1", "params")].convention == "10x the exact value"  # 0.48M vs 48,120
    assert checks[("total", "MACs")].convention == "10x the exact value"  # 4M vs 416,520
    checks = {(c.group, c.measure): c for c in lecture_checks(model_complexity("alexnet_small"))}
    assert checks[("conv1", "MACs")].convention.startswith("for a 3-channel")  # 101M = 3 x 33.9M
    assert checks[("conv2", "MACs")].convention == "exact, rounded"  # 415M


def test_last_layer_figures():
    data = compare(["lenet"])
    last = {x["model"]: x for x in data["last_layer"]}
    assert last["lenet"]["params"] == 16 * 5 * 5 * 120 + 120
    if "alexnet_small" in last:
        assert last["alexnet_small"]["params"] == 256 * 5 * 5 * 4096 + 4096
    if "vgg16" in last:
        assert last["vgg16"]["params"] == 512 * 7 * 7 * 4096 + 4096 and last["vgg16"]["lecture"] == "102M"
    html, markdown = data._repr_html_(), data.to_markdown()  # the same tables, for a notebook
    assert html.count("<table>") == sum(line.startswith("|---") for line in markdown.splitlines()) >= 3 and "<td style=\"text-align:left\">lenet</td>" in html


def test_complexity_cli(capsys):
    assert main(["complexity"]) == 0
    out = capsys.readouterr().out
    assert "46,764,746" in out and "61,706" in out and "10x the exact value" in out
    assert "curse of the last layer" in out
    assert main(["complexity", "--models", "lenet,lenet_modern", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [m["name"] for m in data["models"]] == ["lenet", "lenet_modern"]
    assert main(["complexity", "--models", "lenet,nosuchnet"]) == 1
    assert "unknown model 'nosuchnet'" in capsys.readouterr().err


# ---- receptive fields ------------------------------------------------------------------------
def test_lenet_receptive_field_by_hand(capsys):
    rows = {r.name: r for r in receptive_fields(create_model("lenet"), (1, 28, 28))}
    # conv5 (pad 2) -> 5; pool2 -> 6, jump 2; conv5 -> 6 + 4*2 = 14; pool2 -> 16, jump 4
    assert [(a.rf, a.jump, a.start) for a in rows["5"].field] == [(16, 4, 5.5)] * 2
    assert rows["7"].field is None  # a dense layer has no spatial output
    assert main(["receptive-field", "alexnet_small"]) == 0
    assert "sees 195 input pixels (jump 32)" in capsys.readouterr().out


class _SmallResNet(nn.Sequential):
    """Branches: a strided block with a 1x1 projection, then one with a squeeze-excitation gate."""

    def __init__(self, se: bool):
        super().__init__(nn.Conv2d(1, 4, 3, padding=1), BasicBlock(4, 8, stride=2),
                         BasicBlock(8, 8, se_reduction=4 if se else None))


def _positive(model: nn.Module) -> nn.Module:
    """float64, every weight and bias positive, max pools made average pools (same geometry):
    no cancellation and no arg-max, so every input pixel in the field has a nonzero gradient."""
    for name, child in model.named_children():
        if isinstance(child, nn.MaxPool2d):
            setattr(model, name, nn.AvgPool2d(child.kernel_size, child.stride, child.padding, child.ceil_mode))
        else:
            _positive(child)
    generator = torch.Generator().manual_seed(0)
    model.double().eval()
    with torch.no_grad():
        for p in model.parameters(recurse=False):
            p.copy_(torch.rand(p.shape, generator=generator, dtype=p.dtype) * 0.1 + 0.01)
        for name, b in model.named_buffers(recurse=False):
            if name == "running_mean":
                b.zero_()
            elif name == "running_var":
                b.fill_(1.0)
    return model


def _gradient_extent(model, input_shape, layer) -> list[tuple[int, int]]:
    """Per axis, the first and last input pixel with a nonzero d out[centre] / d input."""
    x = torch.rand(1, *input_shape, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) + 0.1
    x.requires_grad_(True)
    captured = []
    handle = layer.register_forward_hook(lambda m, a, out: captured.append(out))
    model(x)
    handle.remove()
    out = captured[0]
    h, w = out.shape[-2] // 2, out.shape[-1] // 2
    grad, = torch.autograd.grad(out[0, 0, h, w], x)
    nonzero = grad[0].abs().sum(0) != 0  # (H, W)
    rows, cols = nonzero.any(1).nonzero().flatten(), nonzero.any(0).nonzero().flatten()
    return [(int(rows.min()), int(rows.max())), (int(cols.min()), int(cols.max()))]


GRADIENT_CASES = [("lenet", (1, 28, 28)), ("lenet_modern", (1, 28, 28)), ("alexnet_small", (1, 96, 96)),
                  ("resnet20", (3, 32, 32)), ("residual", (1, 24, 24)), ("residual+se", (1, 24, 24))]


@pytest.fixture
def one_thread():
    """Batch-1 float64 backward passes are too small to split; two threads mostly wait."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("name, shape", GRADIENT_CASES)
def test_receptive_field_equals_the_gradient_extent(name, shape, one_thread):
    if name.startswith("residual"):
        model = _SmallResNet(se=name.endswith("se"))
    else:
        model = create_model(name, in_channels=shape[0], input_size=shape[1:])
    model = _positive(model)
    rows = [r for r in receptive_fields(model, shape)[1:] if r.field is not None and len(r.shape) == 3]
    modules = dict(model.named_modules())
    assert rows
    checked, seen = 0, set()
    for row in rows:
        if (row.field, tuple(row.shape[-2:])) in seen:
            continue  # batch norm, activations: the same field as the layer before
        seen.add((row.field, tuple(row.shape[-2:])))
        if row.field == GLOBAL:
            expected = [(0, shape[1] - 1), (0, shape[2] - 1)]
        else:
            centre = (row.shape[-2] // 2, row.shape[-1] // 2)
            expected = [axis.interval(i) for axis, i in zip(row.field, centre)]
            # Only fields inside the input: at the border, padding and the pixels a strided
            # layer drops on the right/bottom edge cut the dependency region short.
            if any(lo < 0 or hi > size - 1 for (lo, hi), size in zip(expected, shape[1:])):
                continue
        extent = _gradient_extent(model, shape, modules[row.name])
        assert extent == [(round(lo), round(hi)) for lo, hi in expected], f"{name} {row.name}: {row.field}"
        checked += 1
    assert checked >= 3
    if name == "residual+se":
        assert rows[-1].field == GLOBAL  # the gate averages the whole map
