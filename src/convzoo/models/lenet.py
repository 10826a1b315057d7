"""LeNet: LeCun et al., "Gradient-based learning applied to document recognition", 1998.

`lenet` is the textbook (d2l) form of LeNet-5: sigmoid, average pooling, 6-16 channels with 5x5
kernels, dense 120-84-10, and a padded first convolution so that 28x28 MNIST-style images keep
the paper's 28x28 C1 maps. Unlike the paper: full C3 connectivity, plain average pooling instead
of trainable subsampling, and a softmax output instead of RBF units.
`lenet_bn` adds batch norm after every conv and hidden dense layer; `lenet_modern` also swaps in
ReLU and max pooling. Both drop the bias of layers followed by batch norm (BN's shift replaces it).
`lenet_wide` is `lenet_modern` with 32-64 channels and one 128-unit hidden layer (Caffe's LeNet is
similar): the demo's pretrained digit model, wide enough for 99% on held-out MNIST digits when
trained on 9,000 (docs/demo.md).
Explicit Sequential code, because the model is small and the explicit form teaches.
"""

from __future__ import annotations

from torch import nn

from .registry import register_model

_LENET = {"family": "lenet", "paper": "LeCun et al., Gradient-based learning applied to document recognition",
          "year": 1998, "input_size": (1, 28, 28), "num_classes": 10, "min_size": 12}


def _features_after_convs(input_size: tuple[int, int], channels: int = 16) -> int:
    # 5x5 conv padded to "same" -> pool/2 -> 5x5 valid conv -> pool/2
    h, w = ((s // 2 - 4) // 2 for s in input_size)
    return channels * h * w


@register_model("lenet", params=61_706, **_LENET)
@register_model("lenet_bn", params=62_158, batch_norm=True, keep_bias=True,
                note="d2l's BatchNorm LeNet: BN after each conv and hidden dense layer; biases kept",
                **_LENET)
@register_model("lenet_modern", params=61_932, batch_norm=True, modern=True,
                note="ReLU, max pooling and batch norm; no bias before BN", **_LENET)
def lenet(num_classes: int, in_channels: int, input_size: tuple[int, int],
          batch_norm: bool = False, modern: bool = False, keep_bias: bool = False) -> nn.Sequential:
    act = nn.ReLU if modern else nn.Sigmoid
    pool = (lambda: nn.MaxPool2d(2)) if modern else (lambda: nn.AvgPool2d(2))
    bias = keep_bias or not batch_norm

    def norm(kind, n):
        return [kind(n)] if batch_norm else []

    flat = _features_after_convs(input_size)
    return nn.Sequential(
        nn.Conv2d(in_channels, 6, 5, padding=2, bias=bias), *norm(nn.BatchNorm2d, 6), act(),
        pool(),  # (N, 6, 14, 14)
        nn.Conv2d(6, 16, 5, bias=bias), *norm(nn.BatchNorm2d, 16), act(),
        pool(),  # (N, 16, 5, 5)
        nn.Flatten(),  # (N, 400)
        nn.Linear(flat, 120, bias=bias), *norm(nn.BatchNorm1d, 120), act(),
        nn.Linear(120, 84, bias=bias), *norm(nn.BatchNorm1d, 84), act(),
        nn.Linear(84, num_classes),
    )


@register_model("lenet_wide", params=258_538, note="lenet_modern widened: 32-64 channels, one 128-unit "
                "hidden layer", **_LENET)
def lenet_wide(num_classes: int, in_channels: int, input_size: tuple[int, int]) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, 32, 5, padding=2, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
        nn.MaxPool2d(2),  # (N, 32, 14, 14)
        nn.Conv2d(32, 64, 5, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
        nn.MaxPool2d(2),  # (N, 64, 5, 5)
        nn.Flatten(),  # (N, 1600)
        nn.Linear(_features_after_convs(input_size, 64), 128, bias=False), nn.BatchNorm1d(128), nn.ReLU(),
        nn.Linear(128, num_classes),
    )
