"""The lectures' knobs as builder options: each changes what is built, `parse_model_args` converts
`KEY=VALUE` strings by the builders' annotations, and every mistake is a one-line ConvzooError.

Models are built on the meta device (no memory, no arithmetic) unless a test needs real numbers,
and then at their smallest inputs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

import convzoo
from convzoo.cli.models import format_value
from convzoo.errors import ConvzooError
from convzoo.layers import LocalContrastNorm
from convzoo.models import (
    count_parameters,
    create_model,
    list_models,
    model_info,
    model_options,
    parse_model_args,
    register_model,
)
from convzoo.models.registry import _REGISTRY


def meta(name: str, **kwargs) -> nn.Module:
    with torch.device("meta"):
        return create_model(name, **kwargs)


def kinds(model: nn.Module) -> set[type]:
    return {type(m) for m in model.modules()}


def active_dropouts(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if isinstance(m, nn.modules.dropout._DropoutNd) and m.p > 0]


# --- what each knob builds ----------------------------------------------------------------

def test_lenet_activation_and_pooling_are_the_lectures_choice():
    assert model_info("lenet").fixed == {}
    default, modern = meta("lenet"), meta("lenet_modern")
    assert {nn.Sigmoid, nn.AvgPool2d} <= kinds(default) and not {nn.ReLU, nn.MaxPool2d} & kinds(default)
    assert {nn.ReLU, nn.MaxPool2d, nn.BatchNorm2d} <= kinds(modern) and nn.Sigmoid not in kinds(modern)
    tanh = meta("lenet_modern", activation="tanh", pooling="avg", batch_norm=False)
    assert {nn.Tanh, nn.AvgPool2d} <= kinds(tanh) and not {nn.ReLU, nn.MaxPool2d, nn.BatchNorm2d} & kinds(tanh)
    # the `convzoo train lenet --model-arg activation=sigmoid --model-arg pooling=avg` case
    args = parse_model_args("lenet", ["activation=sigmoid", "pooling=avg"])
    model = create_model("lenet", **args)
    assert model(torch.randn(2, 1, 28, 28)).shape == (2, 10)
    assert model.convzoo_spec["kwargs"] == {"activation": "sigmoid", "pooling": "avg"}


@pytest.mark.parametrize("name", ["lenet", "alexnet_small", "vgg11", "nin"])
def test_pooling_choice(name):
    avg, mx = meta(name, pooling="avg", input_size=32), meta(name, pooling="max", input_size=32)
    assert nn.AvgPool2d in kinds(avg) and nn.MaxPool2d not in kinds(avg)
    assert nn.MaxPool2d in kinds(mx) and nn.AvgPool2d not in kinds(mx)
    assert count_parameters(avg) == count_parameters(mx)


@pytest.mark.parametrize("name", ["lenet", "mlp", "alexnet_small", "vgg11", "nin", "resnet20", "resnet18"])
def test_activation_choice_replaces_every_relu(name):
    model = meta(name, activation="tanh", input_size=32)
    assert nn.Tanh in kinds(model) and not {nn.ReLU, nn.Sigmoid} & kinds(model)


@pytest.mark.parametrize("name", ["alexnet_small", "vgg11", "nin"])
def test_dropout_zero_leaves_no_active_dropout_and_keeps_the_keys(name):
    paper, off = meta(name, input_size=32), meta(name, dropout=0, input_size=32)
    assert active_dropouts(paper) and all(m.p == 0.5 for m in active_dropouts(paper))
    assert not active_dropouts(off)
    assert list(off.state_dict()) == list(paper.state_dict())
    assert {m.p for m in active_dropouts(meta(name, dropout=0.2, input_size=32))} == {0.2}


@pytest.mark.parametrize("name", ["lenet", "mlp"])
def test_dropout_on_hidden_layers_is_active_only_in_training(name):
    torch.manual_seed(0)
    model = create_model(name, dropout=0.5)
    hidden = len(model_options(name)[[o.name for o in model_options(name)].index("hidden")].default)
    assert len(active_dropouts(model)) == hidden
    x = torch.randn(4, 1, 28, 28)
    assert not torch.equal(model.train()(x), model(x))
    assert torch.equal(model.eval()(x), model(x))
    assert not active_dropouts(create_model(name))


@pytest.mark.parametrize("name", ["lenet", "mlp"])
def test_batch_norm_and_hidden_widths(name):
    plain, normed = meta(name), meta(name, batch_norm=True, hidden=(32, 16))
    assert not {nn.BatchNorm1d, nn.BatchNorm2d} & kinds(plain)
    linears = [m for m in normed.modules() if isinstance(m, nn.Linear)]
    assert [m.out_features for m in linears] == [32, 16, 10]
    assert sum(isinstance(m, nn.BatchNorm1d) for m in normed.modules()) == 2


def test_lenet_variants_are_options_of_one_builder():
    assert model_info("lenet_wide").builder is model_info("lenet").builder
    same = meta("lenet", activation="relu", pooling="max", batch_norm=True, channels=(32, 64), hidden=(128,))
    assert count_parameters(same) == model_info("lenet_wide").params
    assert list(same.state_dict()) == list(meta("lenet_wide").state_dict())


def test_shipped_checkpoints_match_the_default_build():
    """digits.pt (lenet_wide) and fashion.pt (fastnet 16,64,128) load into today's build of their model and
    options, key for key."""
    for file in ("digits.pt", "fashion.pt"):
        payload = torch.load(Path(convzoo.__file__).parent / "pretrained" / file, map_location="cpu",
                             weights_only=False)
        model = create_model(payload["model"]["name"], **payload["model"].get("kwargs", {}))
        model.load_state_dict(payload["state_dict"])  # strict: same keys, same shapes


@pytest.mark.parametrize("name", ["alexnet_small", "vgg11"])
def test_local_norm_slot_takes_lrn_lcn_or_nothing(name):
    """`--model-arg norm=...`: the same slot holds LRN, LCN or nothing; neither has parameters or
    state_dict entries: the three builds have one parameter count, and LRN and LCN the same keys
    (without the layer, later indices shift, as they always have without LRN)."""
    built = {kind: meta(name, **parse_model_args(name, [f"norm={kind}"]), input_size=32)
             for kind in ("none", "lrn", "lcn")}
    for kind, layer in (("lrn", nn.LocalResponseNorm), ("lcn", LocalContrastNorm)):
        assert [layer in kinds(model) for model in built.values()] == [False, kind == "lrn", kind == "lcn"]
    assert len({count_parameters(m) for m in built.values()}) == 1
    assert list(built["lrn"].state_dict()) == list(built["lcn"].state_dict())
    with pytest.raises(ConvzooError, match="norm"):
        parse_model_args(name, ["norm=lcm"])


def test_vgg11_lrn_is_a_with_lrn_after_the_first_conv():
    model = meta("vgg11_lrn")
    assert [type(m) for m in model.features[:4]] == [nn.Conv2d, nn.ReLU, nn.LocalResponseNorm, nn.MaxPool2d]
    assert sum(isinstance(m, nn.LocalResponseNorm) for m in model.modules()) == 1
    assert repr(model) == repr(meta("vgg11", norm="lrn"))


@pytest.mark.parametrize("name", ["lenet", "mlp", "alexnet_small", "vgg11", "nin"])
def test_every_default_passed_explicitly_builds_the_default(name):
    explicit = {o.name: o.default for o in model_options(name)}
    assert repr(meta(name, **explicit)) == repr(meta(name))


# --- ResNet: depth, width, shortcut, residual -----------------------------------------------

def blocks(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if hasattr(m, "branch")]


def test_cifar_resnet_depth_and_width():
    assert len(blocks(meta("resnet20", depth=8))) == 3
    assert len(blocks(meta("resnet20", depth=56))) == 27
    assert count_parameters(meta("resnet20", depth=56)) == model_info("resnet56").params
    wide = meta("resnet20", width=32)
    assert wide.stem[0].out_channels == 32 and wide.head[-1].in_features == 128
    for bad in (7, 21, 2):
        with pytest.raises(ConvzooError, match=r"^resnet20: .*6n\+2.*got " + str(bad)):
            create_model("resnet20", depth=bad)
    with pytest.raises(ConvzooError, match="width must be positive"):
        create_model("resnet20", width=0)


def test_shortcut_b_projects_and_a_is_parameter_free():
    a, b = meta("resnet20"), meta("resnet20", shortcut="B")
    assert count_parameters(b) > count_parameters(a)
    assert all(count_parameters(blk.shortcut) == 0 for blk in blocks(a))
    assert sum(count_parameters(blk.shortcut) > 0 for blk in blocks(b)) == 2  # the two downsampling blocks


def _zero_branch_ends(model: nn.Module) -> None:
    """Make every residual branch output zero: its last BN gets weight 0 and bias 0."""
    with torch.no_grad():
        for blk in blocks(model):
            blk.branch[-1].weight.zero_()
            blk.branch[-1].bias.zero_()


def test_plain_network_adds_no_shortcut():
    """With every branch silenced, a ResNet still passes its input through the shortcuts; a plain
    net (residual=False) then outputs the same for every input (only the head's bias is left)."""
    torch.manual_seed(0)
    x = torch.randn(3, 3, 8, 8)
    outputs = {}
    for residual in (True, False):
        model = create_model("resnet20", depth=8, residual=residual, input_size=8).eval()
        _zero_branch_ends(model)
        with torch.no_grad():
            outputs[residual] = model(x)
    assert not torch.allclose(outputs[True][0], outputs[True][1])
    assert torch.allclose(outputs[False], model.head[-1].bias.expand(3, -1))
    assert count_parameters(meta("resnet20", residual=False)) == model_info("resnet20").params


def test_imagenet_resnet_options():
    assert count_parameters(meta("resnet18", version="v1")) == model_info("resnet18").params  # no 1x1 to stride
    assert count_parameters(meta("resnet18", shortcut="A")) < model_info("resnet18").params
    with pytest.raises(ConvzooError, match="bottleneck"):
        create_model("resnet18", groups=32)
    with pytest.raises(ConvzooError, match="one entry per stage"):
        create_model("resnet18", depths=(2, 2))


# --- U-Net and GoogLeNet ------------------------------------------------------------------

def test_unet_width_makes_a_narrow_unet_for_small_canvases():
    narrow = create_model("unet_padded", width=8, num_classes=11, in_channels=3, input_size=64)
    assert count_parameters(narrow) < model_info("unet_padded").params / 50
    assert narrow(torch.randn(2, 3, 64, 64)).shape == (2, 11, 64, 64)
    assert count_parameters(meta("unet", width=64)) == model_info("unet").params


def test_googlenet_aux_logits_is_an_option():
    (option,) = [o for o in model_options("googlenet") if o.name == "aux_logits"]
    assert option.default is False and option.type == "bool" and "aux" in option.help
    model = meta("googlenet", input_size=32, **parse_model_args("googlenet", ["aux_logits=on"]))
    out = model.train()(torch.empty(2, 3, 32, 32, device="meta"))
    assert isinstance(out, tuple) and len(out) == 3
    assert model.eval()(torch.empty(2, 3, 32, 32, device="meta")).shape == (2, 1000)


def test_googlenet_and_nin_width_scale_every_conv_but_the_class_maps():
    def conv_widths(model):
        return [m.out_channels for m in model.modules() if isinstance(m, nn.Conv2d)]

    for name, kwargs in (("googlenet", {"aux_logits": True}), ("nin", {})):
        full, half = meta(name, input_size=32, **kwargs), meta(name, input_size=32, width=0.5, **kwargs)
        pairs = list(zip(conv_widths(full), conv_widths(half), strict=True))
        channels = model_info(name).input_size[0]
        classes = full.eval()(torch.empty(1, channels, 32, 32, device="meta")).shape[1]
        # NiN's last block is one map per class and keeps its width; everything else halves (rounded).
        assert all(h == (f if name == "nin" and f == classes else round(f / 2)) for f, h in pairs), name
        assert count_parameters(half) < count_parameters(full) / 3
    # The auxiliary heads narrow too: their dense layer reads 4x4 maps of the narrowed 1x1 conv.
    aux = meta("googlenet", input_size=32, aux_logits=True, width=0.25).aux["4a"]
    linears = [m for m in aux if isinstance(m, nn.Linear)]
    assert (linears[0].in_features, linears[0].out_features) == (16 * 32, 256)


# --- model_options ------------------------------------------------------------------------

def test_options_come_from_the_signature_with_the_entrys_fixed_values():
    lenet = {o.name: o for o in model_options("lenet")}
    assert not {"num_classes", "in_channels", "input_size"} & set(lenet)
    assert lenet["activation"].choices == ("relu", "sigmoid", "tanh")
    assert lenet["activation"].type == "relu|sigmoid|tanh" and lenet["activation"].default == "sigmoid"
    assert lenet["hidden"].type == "int,int,..." and lenet["hidden"].default == (120, 84)
    assert lenet["dropout"].help
    modern = {o.name: o.default for o in model_options("lenet_modern")}
    assert (modern["activation"], modern["pooling"], modern["batch_norm"]) == ("relu", "max", True)
    assert {o.name: o.default for o in model_options("resnet56")}["depth"] == 56
    (se,) = [o for o in model_options("resnet18") if o.name == "se_reduction"]
    assert se.type == "int|none" and se.default is None


@pytest.mark.parametrize("name", list_models())
def test_every_default_round_trips_through_its_text_form(name):
    """What `convzoo models NAME` prints as a default parses back to that default."""
    options = model_options(name)
    pairs = [f"{o.name}={format_value(o.default)}" for o in options]
    assert parse_model_args(name, pairs) == {o.name: o.default for o in options}
    assert set(model_info(name).fixed) <= {o.name for o in options}


# --- parse_model_args ---------------------------------------------------------------------

@pytest.mark.parametrize("text,value", [(t, True) for t in ("true", "True", "1", "yes", "ON")]
                         + [(t, False) for t in ("false", "0", "no", "off", "OFF")])
def test_bool_spellings(text, value):
    assert parse_model_args("lenet", [f"batch_norm={text}"]) == {"batch_norm": value}


def test_conversions_by_annotation():
    assert parse_model_args("lenet", ["dropout=0.25", "hidden=64,32", "channels=8, 16", "activation=tanh"]) == {
        "dropout": 0.25, "hidden": (64, 32), "channels": (8, 16), "activation": "tanh"}
    assert parse_model_args("mlp", ["hidden=800,"]) == {"hidden": (800,)}
    assert parse_model_args("resnet20", ["depth=32", "shortcut=b", "residual=false"]) == {
        "depth": 32, "shortcut": "B", "residual": False}
    assert parse_model_args("resnet18", ["se_reduction=none"]) == {"se_reduction": None}
    assert parse_model_args("resnet18", ["se_reduction=16"]) == {"se_reduction": 16}
    assert parse_model_args("vgg11", ["width=0.5", "config=vgg16"]) == {"width": 0.5, "config": "vgg16"}
    assert parse_model_args("unet", ["padding=1"]) == {"padding": 1}
    assert parse_model_args("lenet", ["dropout=0.1", "dropout=0.2"]) == {"dropout": 0.2}  # the last wins
    assert parse_model_args("lenet", []) == {}


def one_line_error(name: str, pairs: list[str]) -> str:
    with pytest.raises(ConvzooError) as caught:
        parse_model_args(name, pairs)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{name}: ")
    return message


def test_unknown_key_suggests_and_lists_the_options():
    message = one_line_error("lenet", ["activaton=relu"])
    assert "unknown option 'activaton'" in message and "did you mean activation?" in message
    assert "options: activation, pooling, dropout, batch_norm, keep_bias, channels, hidden" in message
    assert "options: activation" in one_line_error("lenet", ["zzz=1"])
    assert "options: codes, background, init, head" in one_line_error("lenet5_1998", ["activation=relu"])
    assert "unknown option 'num_classes'" in one_line_error("lenet", ["num_classes=3"])


def test_bad_values_say_what_is_expected():
    assert "batch_norm expects a bool (true/false" in one_line_error("lenet", ["batch_norm=maybe"])
    assert "got 'maybe'" in one_line_error("lenet", ["batch_norm=maybe"])
    assert "activation expects one of relu, sigmoid, tanh, got 'gelu'" in one_line_error(
        "lenet", ["activation=gelu"])
    assert "depth expects an int, got '20.5'" in one_line_error("resnet20", ["depth=20.5"])
    assert "dropout expects a number" in one_line_error("lenet", ["dropout=half"])
    assert "channels expects comma-separated values (int,int)" in one_line_error("lenet", ["channels=1,2,3"])
    assert "se_reduction expects int|none" in one_line_error("resnet18", ["se_reduction=x"])


def test_missing_equals_sign():
    message = one_line_error("lenet", ["activation"])
    assert "'activation' is not KEY=VALUE" in message and "options: activation" in message
    assert "not KEY=VALUE" in one_line_error("lenet", ["=relu"])


# --- create_model checks ------------------------------------------------------------------

@pytest.mark.parametrize("name,kwargs,match", [
    ("lenet", {"dropout": 1.0}, r"dropout must be in \[0, 1\), got 1.0"),
    ("alexnet_small", {"dropout": -0.1}, r"dropout must be in \[0, 1\)"),
    ("vgg11", {"width": 0.0}, "width must be positive"),
    ("mlp", {"hidden": (0,)}, "hidden must be positive"),
    ("lenet", {"channels": (6, -1)}, "channels must be positive, got 6,-1"),
    ("unet_padded", {"width": 0}, "width must be positive"),
    ("googlenet", {"width": -1.0}, "width must be positive"),
    ("nin", {"width": 0.0}, "width must be positive"),
    ("lenet", {"activaton": "relu"}, "unknown option 'activaton'; did you mean activation"),
    ("lenet", {"pooling": "median"}, "pooling expects one of max, avg, got 'median'"),
    ("alexnet", {"groups": 3}, "groups=3 must divide"),
])
def test_out_of_range_values_are_one_line_errors_at_build(name, kwargs, match):
    with torch.device("meta"), pytest.raises(ConvzooError, match=match) as caught:
        create_model(name, input_size=32 if name != "unet_padded" else 16, **kwargs)
    assert str(caught.value).startswith(f"{name}: ") and "\n" not in str(caught.value)


def test_spec_records_what_the_caller_passed():
    model = meta("lenet_modern", dropout=0.1)
    assert model.convzoo_spec["kwargs"] == {"dropout": 0.1}  # not the entry's fixed arguments


# --- registration -------------------------------------------------------------------------

def _throwaway(num_classes: int, in_channels: int, input_size: tuple[int, int], batch_norm: bool = False,
               activation: convzoo.layers.Activation = "relu") -> nn.Module:
    return nn.Linear(1, num_classes)


META = {"family": "test", "paper": "none", "year": 2000, "input_size": (1, 8, 8), "num_classes": 2,
        "params": 4}


@pytest.mark.parametrize("fixed,match", [
    ({"batch_nrom": True}, "no parameter 'batch_nrom' \\(did you mean 'batch_norm'\\?\\)"),
    ({"activation": "gelu"}, "activation='gelu' is not one of"),
    ({"in_channels": 3}, "set by create_model"),
])
def test_fixed_arguments_are_checked_at_registration(fixed, match):
    try:
        with pytest.raises(ValueError, match=match):
            register_model("_throwaway_test_model", **META, **fixed)(_throwaway)
        assert "_throwaway_test_model" not in list_models()
        register_model("_throwaway_test_model", **META, batch_norm=True)(_throwaway)  # a real key is fine
        assert {o.name: o.default for o in model_options("_throwaway_test_model")} == {
            "batch_norm": True, "activation": "relu"}
    finally:
        _REGISTRY.pop("_throwaway_test_model", None)
    assert "_throwaway_test_model" not in list_models()


# --- convzoo models NAME -------------------------------------------------------------------

def test_models_cli_shows_one_models_options(capsys):
    from convzoo.cli import main

    assert main(["models", "lenet"]) == 0
    out = capsys.readouterr().out
    assert "LeCun" in out and "61,706" in out
    rows = {line.split()[0]: line.split()[1:3] for line in out.splitlines() if line.strip()}
    assert rows["option"] == ["type", "default"]
    assert rows["activation"] == ["relu|sigmoid|tanh", "sigmoid"] and rows["hidden"] == ["int,int,...", "120,84"]
    assert rows["batch_norm"] == ["bool", "false"]

    assert main(["models", "lenet_modern", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["name"] == "lenet_modern" and data["params"] == model_info("lenet_modern").params
    options = {o["name"]: o for o in data["options"]}
    assert options["activation"]["default"] == "relu" and options["activation"]["choices"] == ["relu", "sigmoid",
                                                                                              "tanh"]
    assert options["hidden"]["default"] == [120, 84]

    assert main(["models", "lenet*"]) == 0  # a pattern still lists
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[0] == "name" and len(lines) == 1 + len(list_models("lenet*"))
