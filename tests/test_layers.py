"""Shared blocks: shapes, parameter counts from their formulas, and what each option changes."""

from __future__ import annotations

import random

import pytest
import torch
from torch import nn

from convzoo.errors import ConvzooError
from convzoo.layers import (
    BasicBlock,
    Bottleneck,
    ChannelShuffle,
    ConvBNAct,
    SqueezeExcite,
    channel_shuffle,
    output_hw,
)
from convzoo.models.registry import count_parameters


def conv_params(cin: int, cout: int, k: int, groups: int = 1, bias: bool = False) -> int:
    return cout * (cin // groups) * k * k + (cout if bias else 0)


def bn_params(c: int) -> int:
    return 2 * c


def test_basic_block_stride_2_halves_the_map_and_projects_the_shortcut():
    block = BasicBlock(64, 128, stride=2)
    assert block(torch.randn(2, 64, 32, 32)).shape == (2, 128, 16, 16)
    expected = (conv_params(64, 128, 3) + bn_params(128) + conv_params(128, 128, 3) + bn_params(128)
                + conv_params(64, 128, 1) + bn_params(128))  # option B projection
    assert count_parameters(block) == expected


def test_post_activation_output_is_non_negative_and_pre_activation_is_not():
    x = torch.randn(2, 16, 8, 8)
    assert (BasicBlock(16, 16)(x) >= 0).all()  # v1: ReLU after the addition
    assert (BasicBlock(16, 16, preact=True)(x) < 0).any()  # v2: nothing after the addition


def test_zero_padding_shortcut_is_parameter_free_identity_plus_zeros():
    block = BasicBlock(16, 32, stride=2, shortcut="A")
    x = torch.randn(2, 16, 9, 9)
    skip = block.shortcut(x)
    assert skip.shape == (2, 32, 5, 5)
    assert torch.equal(skip[:, :16], x[:, :, ::2, ::2]) and not skip[:, 16:].any()
    assert count_parameters(block.shortcut) == 0
    assert count_parameters(block) == count_parameters(BasicBlock(16, 32, stride=2)) - (
        conv_params(16, 32, 1) + bn_params(32))
    assert block(x).shape == (2, 32, 5, 5)


def test_bottleneck_expands_four_times_and_v1_strides_the_first_conv():
    x = torch.randn(2, 256, 14, 14)
    v15, v1 = Bottleneck(256, 128, stride=2), Bottleneck(256, 128, stride=2, stride_in_1x1=True)
    assert v15(x).shape == v1(x).shape == (2, 512, 7, 7)
    assert count_parameters(v15) == count_parameters(v1)
    strides = [m.stride[0] for m in v15.branch if isinstance(m, nn.Conv2d)]
    assert strides == [1, 2, 1]
    assert [m.stride[0] for m in v1.branch if isinstance(m, nn.Conv2d)] == [2, 1, 1]


def test_grouped_bottleneck_counts_one_slice_of_weights_per_group():
    block = Bottleneck(256, 64, groups=32, base_width=4)  # ResNeXt 32x4d, first stage
    convs = [m for m in block.branch if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [128, 128, 256]
    assert convs[1].groups == 32
    assert convs[1].weight.numel() == conv_params(128, 128, 3, groups=32) == 128 * 4 * 9
    wide = Bottleneck(256, 64, base_width=128)  # Wide ResNet-50-2: twice the inner width
    assert [m.out_channels for m in wide.branch if isinstance(m, nn.Conv2d)] == [128, 128, 256]


def test_squeeze_excite_scales_each_channel_by_a_gate_in_0_1():
    se = SqueezeExcite(64, reduction=16)
    x = torch.randn(2, 64, 5, 5)
    ratio = se(x) / x
    per_channel = ratio.flatten(2)
    assert torch.allclose(per_channel, per_channel[..., :1].expand_as(per_channel), atol=1e-5)
    assert ((ratio > 0) & (ratio < 1)).all()
    assert count_parameters(se) == conv_params(64, 4, 1, bias=True) + conv_params(4, 64, 1, bias=True)


def test_se_option_adds_exactly_one_gate_to_a_residual_block():
    plain, gated = Bottleneck(256, 64), Bottleneck(256, 64, se_reduction=16)
    assert count_parameters(gated) - count_parameters(plain) == count_parameters(SqueezeExcite(256, 16))
    assert gated(torch.randn(2, 256, 4, 4)).shape == (2, 256, 4, 4)


def test_channel_shuffle_interleaves_groups():
    x = torch.arange(6.0).view(1, 6, 1, 1)
    assert channel_shuffle(x, 2).flatten().tolist() == [0, 3, 1, 4, 2, 5]
    assert channel_shuffle(x, 3).flatten().tolist() == [0, 2, 4, 1, 3, 5]


@pytest.mark.parametrize("groups,per_group", [(2, 3), (3, 4), (4, 8), (8, 2)])
def test_channel_shuffle_is_undone_by_shuffling_with_the_group_size(groups, per_group):
    x = torch.randn(2, groups * per_group, 3, 3)
    shuffled = ChannelShuffle(groups)(x)
    assert not torch.equal(shuffled, x)
    assert torch.equal(channel_shuffle(shuffled, per_group), x)


def test_channel_shuffle_rejects_uneven_groups():
    with pytest.raises(ValueError):
        channel_shuffle(torch.zeros(1, 6, 1, 1), 4)


def test_conv_bn_act_drops_the_bias_only_under_batch_norm():
    with_bn, without = ConvBNAct(3, 8, 3), ConvBNAct(3, 8, 3, bn=False)
    assert with_bn[0].bias is None and isinstance(with_bn[1], nn.BatchNorm2d)
    assert without[0].bias is not None and len(without) == 2
    assert with_bn(torch.randn(2, 3, 7, 7)).shape == (2, 8, 7, 7)


def _random_sized_layer(rng: random.Random) -> nn.Module:
    kernel = rng.randint(1, 5)
    stride, padding = rng.randint(1, 3), rng.randint(0, kernel // 2)
    kind = rng.choice(["conv", "max", "avg"])
    if kind == "conv":
        return nn.Conv2d(2, 2, kernel, stride, padding, dilation=rng.randint(1, 2))
    pool = nn.MaxPool2d if kind == "max" else nn.AvgPool2d
    return pool(kernel, stride, padding, ceil_mode=rng.random() < 0.5)


def test_output_hw_agrees_with_torch_on_random_layer_stacks():
    """torch's meta kernels share the CPU kernels' shape checks and are much cheaper to call."""
    rng = random.Random(0)
    checked = 0
    for _ in range(300):
        with torch.device("meta"):
            layers = nn.Sequential(*(_random_sized_layer(rng) for _ in range(rng.randint(1, 4))))
        hw = (rng.randint(1, 40), rng.randint(1, 40))
        try:
            actual = tuple(layers(torch.zeros(1, 2, *hw, device="meta")).shape[-2:])
        except RuntimeError:
            with pytest.raises(ConvzooError):
                output_hw(layers, hw)
            continue
        assert output_hw(layers, hw) == actual, (layers, hw)
        checked += 1
    assert checked > 100  # most stacks are valid, so the comparison really ran
