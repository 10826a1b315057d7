"""NiN: Lin, Chen & Yan, "Network In Network", ICLR 2014.

Each NiN block is a conv followed by two 1x1 convs (the "micro network", a per-pixel MLP), all with
ReLU; no dense layers: the last block has one channel per class and global average pooling turns
its maps into logits. This is d2l's layout for 1x224x224 (upscaled Fashion-MNIST) with 10 classes,
not the paper's: AlexNet-like block sizes (96, 256, 384 channels with 11x11/4, 5x5, 3x3 kernels)
and 3x3/2 max pooling between blocks, dropout 0.5 before the last block. The paper's CIFAR and
ImageNet networks differ in widths and kernels and were not published as exact tables.
Options, the paper's choice first: `activation` relu | sigmoid | tanh, `pooling` max | avg (the
3x3/2 poolings between blocks), `dropout` 0.5 before the last block (0 = none: an Identity keeps
the slot, so keys do not shift), `batch_norm` off (BN after every conv; not in the paper, which
predates BN), `width` 1 (a multiplier for the channels of every block but the last).
Small inputs: below 67 pixels the first block's 11x11/4 conv becomes 3x3/1 (as for AlexNet),
so 28x28 inputs keep 2x2 class maps before the global average.
"""

from __future__ import annotations

from torch import nn

from ..layers import Activation, Pooling, check_positive, knobs
from .registry import register_model
from .stems import STRIDE4_STEM_MIN, Stem, use_small_stem

# (channels, kernel, stride, padding) per block, "M" for 3x3/2 max pooling, "D" for dropout;
# None channels = the number of classes.
LAYOUT = [(96, 11, 4, 0), "M", (256, 5, 1, 2), "M", (384, 3, 1, 1), "M", "D", (None, 3, 1, 1)]
SMALL_FIRST_BLOCK = (96, 3, 1, 1)


def nin_block(in_channels: int, out_channels: int, kernel: int, stride: int, padding: int,
              batch_norm: bool = False, activation: Activation = "relu") -> nn.Sequential:
    def act() -> list[nn.Module]:  # [BN] activation
        return [*([nn.BatchNorm2d(out_channels)] if batch_norm else []), knobs.activation(activation)]

    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel, stride, padding), *act(),
        nn.Conv2d(out_channels, out_channels, 1), *act(),
        nn.Conv2d(out_channels, out_channels, 1), *act(),
    )


@register_model("nin", family="nin", paper="Lin et al., Network In Network", year=2014,
                input_size=(1, 224, 224), num_classes=10, params=1_992_166, min_size=15,
                small_input_stem=True, note="d2l's layout (not the paper's): params counted from the build")
def nin(num_classes: int, in_channels: int, input_size: tuple[int, int], activation: Activation = "relu",
        pooling: Pooling = "max", dropout: float = 0.5, batch_norm: bool = False, width: float = 1.0,
        stem: Stem = "auto") -> nn.Sequential:
    """d2l's NiN.

    Args:
        activation: after every conv (paper: relu)
        pooling: the 3x3 stride-2 poolings between blocks (paper: max)
        dropout: probability before the last block (paper: 0.5); 0 = none
        batch_norm: BN after every conv (not in the paper)
        width: multiplier for every block's channels but the last (one per class); not in the paper
        stem: small = 3x3 stride-1 first block; auto picks it below 67 pixels
    """
    check_positive("width", width)
    layout = list(LAYOUT)
    if use_small_stem(stem, input_size, STRIDE4_STEM_MIN):
        layout[0] = SMALL_FIRST_BLOCK
    layers: list[nn.Module] = []
    channels = in_channels
    for item in layout:
        if item == "M":
            layers.append(knobs.pool2d(pooling, 3, 2))
        elif item == "D":
            layers.append(knobs.dropout(dropout))
        else:
            out, kernel, stride, padding = item
            out = knobs.scaled(out, width) if out else num_classes
            layers.append(nin_block(channels, out, kernel, stride, padding, batch_norm, activation))
            channels = out
    # 224x224 input: (N, 10, 5, 5) -> one average per class map
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
