"""ResNet: He et al., "Deep Residual Learning for Image Recognition", CVPR 2016.

One class, `ResNet`, takes a block type and per-stage block counts; block flavours are options
(see `convzoo.layers.residual`):
- `version="v1.5"` (default, as torchvision): the stride of a downsampling bottleneck sits on its
  3x3 conv. `"v1"` puts it on the first 1x1 conv as in the paper (same parameter count).
  `"v2"`: pre-activation blocks (He et al., "Identity Mappings in Deep Residual Networks", ECCV
  2016), a BN-ReLU before the head, and a stem of conv (+ max pool) only, since every block
  normalises its own input.
- The ImageNet models use projection shortcuts where the shape changes (the paper's option B).
- The CIFAR ResNets (`resnet20` ... `resnet110`, the paper's Section 4.2: 6n+2 layers, stages of
  16-32-64 channels) use option A: parameter-free zero-padding shortcuts, as in the paper. They are
  one builder, `cifar_resnet`, whose options are the paper's experiments: `depth` (6n+2: 20, 32,
  44, 56, 110, 1202 in the paper; any n >= 1 here), `width` (the first stage's channels, 16),
  `shortcut` "A" (zero-padding identity, the paper's CIFAR choice) | "B" (1x1 projection where
  the shape changes), `residual` (False = the paper's "plain" net of the same depth, the
  degradation experiment of Figure 6) and `activation`.
- Every ResNet also takes `shortcut`, `residual`, `activation` and the block options
  (`se_reduction`; for bottlenecks `groups` and `base_width`).
- Wide ResNet-50-2 (Zagoruyko & Komodakis, "Wide Residual Networks", BMVC 2016) is the ImageNet
  bottleneck network with twice the inner width, as torchvision defines it (the paper's own
  ImageNet model is the same).
Small inputs: below 64 pixels the stem is a 3x3 stride-1 conv without max pooling (as for CIFAR),
so a 32x32 image reaches the first stage at 32x32 instead of 8x8. The smallest accepted input,
8x8 (4x4 for the CIFAR ResNets), leaves 1x1 for the last stage; smaller ones would downsample
maps made of padding alone.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from ..errors import ConvzooError
from ..layers import Activation, BasicBlock, Bottleneck, check_positive, kaiming_init, knobs
from ..layers.residual import Shortcut
from .registry import register_model
from .stems import Stem, use_small_stem

Block = Literal["basic", "bottleneck"]
Version = Literal["v1", "v1.5", "v2"]
BLOCKS = {"basic": BasicBlock, "bottleneck": Bottleneck}
VERSIONS = {"v1": {"stride_in_1x1": True}, "v1.5": {}, "v2": {"preact": True}}
IMAGENET_WIDTHS = (64, 128, 256, 512)
SMALL_INPUT_BELOW = 64  # below this the ImageNet path (32x smaller) leaves the last stage at 1x1


class ResNet(nn.Module):
    def __init__(self, block: type, depths: tuple[int, ...], num_classes: int, in_channels: int, *,
                 widths: tuple[int, ...] = IMAGENET_WIDTHS, small_stem: bool = False, **block_options):
        super().__init__()
        preact = block_options.get("preact", False)
        activation = block_options.get("activation", "relu")
        if small_stem:
            stem = [nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False)]
        else:
            stem = [nn.Conv2d(in_channels, widths[0], 7, 2, 3, bias=False)]
        if not preact:
            stem += [nn.BatchNorm2d(widths[0]), knobs.activation(activation)]
        if not small_stem:
            stem.append(nn.MaxPool2d(3, 2, 1))
        self.stem = nn.Sequential(*stem)  # ImageNet: (N, 64, 56, 56)

        stages, channels = [], widths[0]
        for i, (width, depth) in enumerate(zip(widths, depths)):
            blocks = []
            for j in range(depth):
                blocks.append(block(channels, width, 2 if i > 0 and j == 0 else 1, **block_options))
                channels = blocks[-1].out_channels
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)  # ImageNet: (N, 512 * expansion, 7, 7)

        final_norm = [nn.BatchNorm2d(channels), knobs.activation(activation)] if preact else []
        self.head = nn.Sequential(*final_norm, nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                  nn.Linear(channels, num_classes))
        kaiming_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(self.stem(x)))


_IMAGENET = {
    "family": "resnet", "paper": "He et al., Deep Residual Learning for Image Recognition", "year": 2016,
    "input_size": (3, 224, 224), "num_classes": 1000, "min_size": 8, "small_input_stem": True,
}
_CIFAR = {**_IMAGENET, "input_size": (3, 32, 32), "num_classes": 10, "min_size": 4}


def _cifar(depth: int, params: int, paper_params: str):
    """Register the paper's CIFAR-10 ResNet with 6n+2 layers; `params` is counted from the build."""
    return register_model(f"resnet{depth}", params=params, depth=depth, **_CIFAR,
                          note=f"the paper's CIFAR-10 network: 3x3 stem, option A (zero-padding) shortcuts; "
                               f"params counted from the build (paper: {paper_params})")


_WIDE = {**_IMAGENET, "family": "wide_resnet", "paper": "Zagoruyko & Komodakis, Wide Residual Networks"}


@register_model("resnet18", params=11_689_512, block="basic", depths=(2, 2, 2, 2), **_IMAGENET)
@register_model("resnet34", params=21_797_672, block="basic", depths=(3, 4, 6, 3), **_IMAGENET)
@register_model("resnet50", params=25_557_032, block="bottleneck", depths=(3, 4, 6, 3), **_IMAGENET)
@register_model("resnet101", params=44_549_160, block="bottleneck", depths=(3, 4, 23, 3), **_IMAGENET)
@register_model("resnet152", params=60_192_808, block="bottleneck", depths=(3, 8, 36, 3), **_IMAGENET)
@register_model("wide_resnet50_2", params=68_883_240, block="bottleneck", depths=(3, 4, 6, 3),
                base_width=128, **_WIDE)
def resnet(num_classes: int, in_channels: int, input_size: tuple[int, int], block: Block = "basic",
           depths: tuple[int, ...] = (2, 2, 2, 2), widths: tuple[int, ...] = IMAGENET_WIDTHS,
           version: Version = "v1.5", shortcut: Shortcut = "B", residual: bool = True,
           activation: Activation = "relu", se_reduction: int | None = None, groups: int = 1,
           base_width: int = 64, stem: Stem = "auto") -> ResNet:
    """Any ResNet (also ResNeXt, Wide ResNet, SE-ResNet: options of the same blocks).

    Args:
        block: basic (two 3x3 convs) | bottleneck (1x1, 3x3, 1x1 with 4x expansion)
        depths: blocks per stage (ResNet-50: 3,4,6,3)
        widths: channels per stage (64,128,256,512; a bottleneck's output is 4x)
        version: v1 (stride on the first 1x1, the paper) | v1.5 (stride on the 3x3) | v2 (pre-activation)
        shortcut: A (zero-padding identity) | B (1x1 projection where the shape changes; the paper's
            ImageNet choice)
        residual: false = no shortcuts, the paper's "plain" network
        activation: in place of every ReLU (paper: relu)
        se_reduction: squeeze-and-excitation gate with this reduction (SENet: 16); none = no gate
        groups: grouped 3x3 conv of a bottleneck (ResNeXt: 32)
        base_width: channels per group of a bottleneck's 3x3 conv (64; ResNeXt 32x4d: 4; Wide ResNet: 128)
        stem: small = 3x3 stride-1 conv without max pool; auto picks it below 64 pixels
    """
    if block not in BLOCKS or version not in VERSIONS:
        raise ConvzooError(f"block must be one of {sorted(BLOCKS)} and version one of {sorted(VERSIONS)}")
    check_positive("depths", *depths)
    check_positive("widths", *widths)
    if len(depths) != len(widths):
        raise ConvzooError(f"depths and widths need one entry per stage, got {len(depths)} and {len(widths)}")
    options = {"shortcut": shortcut, "residual": residual, "activation": activation,
               "se_reduction": se_reduction}
    if se_reduction is not None:
        check_positive("se_reduction", se_reduction)
    if block == "bottleneck":
        check_positive("groups", groups)
        check_positive("base_width", base_width)
        options.update(groups=groups, base_width=base_width, **VERSIONS[version])
    else:
        if (groups, base_width) != (1, 64):
            raise ConvzooError("groups and base_width are options of bottleneck blocks")
        options.update({k: v for k, v in VERSIONS[version].items() if k == "preact"})  # v1 = v1.5: no 1x1
    return ResNet(BLOCKS[block], tuple(depths), num_classes, in_channels, widths=tuple(widths),
                  small_stem=use_small_stem(stem, input_size, SMALL_INPUT_BELOW), **options)


@_cifar(20, 269_722, "0.27M")
@_cifar(32, 464_154, "0.46M")
@_cifar(44, 658_586, "0.66M")
@_cifar(56, 853_018, "0.85M")
@_cifar(110, 1_727_962, "1.7M")
def cifar_resnet(num_classes: int, in_channels: int, input_size: tuple[int, int], depth: int = 20,
                 width: int = 16, shortcut: Shortcut = "A", residual: bool = True,
                 activation: Activation = "relu", stem: Stem = "auto") -> ResNet:
    """The paper's CIFAR-10 ResNets (Section 4.2): three stages of n basic blocks, 6n+2 layers.

    Args:
        depth: layers, 6n+2 (paper: 20, 32, 44, 56, 110, 1202)
        width: the first stage's channels; the stages have width, 2*width, 4*width (paper: 16)
        shortcut: A (zero-padding identity, the paper's CIFAR choice) | B (1x1 projection)
        residual: false = the paper's "plain" network of the same depth (no shortcuts)
        activation: in place of every ReLU (paper: relu)
        stem: small = the paper's 3x3 stride-1 conv; auto picks it below 64 pixels
    """
    if depth < 8 or (depth - 2) % 6:
        raise ConvzooError(f"CIFAR ResNet depth must be 6n+2 with n >= 1 (8, 14, 20, 32, 44, 56, 110, ...), "
                           f"got {depth}")
    check_positive("width", width)
    blocks = (depth - 2) // 6
    return ResNet(BasicBlock, (blocks,) * 3, num_classes, in_channels, widths=(width, 2 * width, 4 * width),
                  small_stem=use_small_stem(stem, input_size, SMALL_INPUT_BELOW), shortcut=shortcut,
                  residual=residual, activation=activation)
