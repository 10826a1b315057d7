"""The lectures' MNIST ConvNet: the two-layer network of the PyTorch tutorials (Y. Choi,
"pytorch-tutorial", 02-intermediate/convolutional_neural_network, 2017).

Two 5x5 convs of 16 and 32 channels, each padded to keep the size and followed by batch norm,
ReLU and 2x2 max pooling, then one dense layer from 7*7*32 = 1,568 features to the classes: 29,034
parameters for 10 classes, as the tutorial builds it (the convs keep their bias before BN, as
PyTorch's default does there). Explicit Sequential code, because the model is small and the
explicit form teaches.
Options: `dropout` before the dense layer (0 = none, as the tutorial; at 0 no layer is added, so
keys do not shift); with it on, `convzoo eval --mc-dropout N` can sample many nets at test time.
Other input sizes: the dense layer's width follows the input (H/4 * W/4 * 32); 4x4 is the
smallest input that leaves one pixel after both pools.
"""

from __future__ import annotations

from torch import nn

from ..layers import knobs
from .registry import register_model


def _conv_block(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 5, padding=2), nn.BatchNorm2d(out_channels),
                         nn.ReLU(), nn.MaxPool2d(2, 2))


@register_model("mnist_convnet", family="convnet", year=2017, input_size=(1, 28, 28), num_classes=10,
                params=29_034, min_size=4,
                paper="the lectures' MNIST ConvNet (Choi, pytorch-tutorial: Convolutional Neural Network)")
def mnist_convnet(num_classes: int, in_channels: int, input_size: tuple[int, int],
                  dropout: float = 0.0) -> nn.Sequential:
    """The lectures' two-conv MNIST network.

    Args:
        dropout: probability before the dense layer; 0 = none (the tutorial has none)
    """
    h, w = (s // 4 for s in input_size)
    return nn.Sequential(
        _conv_block(in_channels, 16),  # (N, 16, 14, 14)
        _conv_block(16, 32),  # (N, 32, 7, 7)
        nn.Flatten(),  # (N, 1568)
        *knobs.optional_dropout(dropout),
        nn.Linear(32 * h * w, num_classes),
    )
