"""DenseNet: Huang et al., "Densely Connected Convolutional Networks", CVPR 2017.

Declared by growth rate k, layers per dense block, and initial features. All models are DenseNet-BC
as in the paper's ImageNet table: each layer is BN-ReLU-1x1 conv (4k channels, the "B"ottleneck)
then BN-ReLU-3x3 conv (k channels), its output concatenated to its input; transitions halve the
channels ("C"ompression 0.5) with BN-ReLU-1x1 conv and 2x2 average pooling; a final BN-ReLU before
global average pooling (as torchvision; counts match it).
`densenet_bc_100_12` is the paper's CIFAR DenseNet-BC (depth 100, k=12): three blocks of 16 layers,
a 3x3 stem conv with 2k channels, no max pool.
Small inputs: below 64 pixels the ImageNet models use that CIFAR stem (3x3 stride-1 conv, no max
pool) instead of 7x7/2 + max pool, so 32x32 inputs reach the last block at 4x4 instead of 1x1.
"""

from __future__ import annotations

import torch
from torch import nn

from ..layers import kaiming_init
from .registry import register_model
from .stems import SMALL_INPUT_BELOW, Stem, use_small_stem


def _bn_relu_conv(in_channels: int, out_channels: int, kernel: int) -> list[nn.Module]:
    return [nn.BatchNorm2d(in_channels), nn.ReLU(),
            nn.Conv2d(in_channels, out_channels, kernel, padding=kernel // 2, bias=False)]


class DenseLayer(nn.Module):
    def __init__(self, in_channels: int, growth: int, bn_size: int):
        super().__init__()
        self.new_features = nn.Sequential(*_bn_relu_conv(in_channels, bn_size * growth, 1),
                                          *_bn_relu_conv(bn_size * growth, growth, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.new_features(x)], dim=1)


class DenseNet(nn.Module):
    def __init__(self, growth: int, blocks: tuple[int, ...], init_features: int, num_classes: int,
                 in_channels: int, small_stem: bool = False, bn_size: int = 4, compression: float = 0.5):
        super().__init__()
        if small_stem:
            layers: list[nn.Module] = [nn.Conv2d(in_channels, init_features, 3, padding=1, bias=False)]
        else:  # (N, 64, 56, 56) for densenet121
            layers = [nn.Conv2d(in_channels, init_features, 7, 2, 3, bias=False),
                      nn.BatchNorm2d(init_features), nn.ReLU(), nn.MaxPool2d(3, 2, 1)]
        channels = init_features
        for i, depth in enumerate(blocks):
            for _ in range(depth):
                layers.append(DenseLayer(channels, growth, bn_size))
                channels += growth
            if i < len(blocks) - 1:
                out = int(channels * compression)
                layers += [*_bn_relu_conv(channels, out, 1), nn.AvgPool2d(2, 2)]
                channels = out
        self.features = nn.Sequential(*layers)  # (N, 1024, 7, 7) for densenet121
        self.head = nn.Sequential(nn.BatchNorm2d(channels), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                  nn.Linear(channels, num_classes))
        kaiming_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


_DENSENET = {
    "family": "densenet", "paper": "Huang et al., Densely Connected Convolutional Networks", "year": 2017,
    "input_size": (3, 224, 224), "num_classes": 1000, "min_size": 8, "small_input_stem": True,
}


@register_model("densenet121", params=7_978_856, growth=32, blocks=(6, 12, 24, 16), **_DENSENET)
@register_model("densenet169", params=14_149_480, growth=32, blocks=(6, 12, 32, 32), **_DENSENET)
@register_model("densenet201", params=20_013_928, growth=32, blocks=(6, 12, 48, 32), **_DENSENET)
@register_model("densenet161", params=28_681_000, growth=48, blocks=(6, 12, 36, 24), init_features=96,
                **_DENSENET)
@register_model("densenet_bc_100_12", params=769_162, growth=12, blocks=(16, 16, 16), init_features=24,
                **{**_DENSENET, "input_size": (3, 32, 32), "num_classes": 10, "min_size": 4},
                note="the paper's CIFAR DenseNet-BC (k=12, depth 100, 0.8M); params counted from the build")
def densenet(num_classes: int, in_channels: int, input_size: tuple[int, int], growth: int = 32,
             blocks: tuple[int, ...] = (6, 12, 24, 16), init_features: int = 64, bn_size: int = 4,
             compression: float = 0.5, stem: Stem = "auto") -> DenseNet:
    return DenseNet(growth, tuple(blocks), init_features, num_classes, in_channels,
                    use_small_stem(stem, input_size, SMALL_INPUT_BELOW), bn_size, compression)
