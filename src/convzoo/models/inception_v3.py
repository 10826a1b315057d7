"""Inception v3: Szegedy, Vanhoucke, Ioffe, Shlens & Wojna, "Rethinking the Inception Architecture
for Computer Vision", CVPR 2016.

The network as released (Google's TensorFlow model, which torchvision's `inception_v3` ports),
with the paper's ideas each in one place:
- factorisation into smaller convolutions (sec. 3.1, Figure 5): the 35x35 modules replace a 5x5 by
  two stacked 3x3s (the released modules keep a 5x5 branch beside them);
- asymmetric factorisation (sec. 3.2, Figure 6): at 17x17 every 7x7 is a 1x7 followed by a 7x1;
- expanded filter banks at 8x8 (Figure 7): 1x3 and 3x1 applied side by side and concatenated;
- grid reduction without a representational bottleneck (sec. 5, Figure 10): a stride-2 conv branch
  and a stride-2 pooling branch in parallel, 35->17 and 17->8, instead of pooling first;
- one auxiliary classifier on the last 17x17 layer (sec. 4: a regulariser), with BN in its convs.
Every conv is conv-BN-ReLU without bias; BN eps is 0.001 (TensorFlow's). The modules follow the
paper's Table 1 as data (`BLOCKS`): 3 modules at 35x35, a reduction, 4 at 17x17, a reduction, 2 at
8x8, then global average pooling, dropout 0.5 and the classifier. Where the released network
differs from Table 1: its stem is conv 3x3/2, 3x3, 3x3 padded, max pool, then a 1x1 to 80 and a
3x3 to 192 and a second max pool (Table 1: three 3x3 convs after the first pool), so that 299x299
reaches the modules at 35x35 as in the table.
Parameters: 27,161,264 with the auxiliary head (`aux_logits=True`, the default, as torchvision
counts its released model), 23,834,568 without. In training mode with the head the model returns
(logits, aux); in eval mode, logits. The head sits among the blocks, between 6e and 7a, as in
torchvision's Inception3, so a torchvision state dict loads by position (models/torchvision_keys.py).
Input sizes: 299x299 is the paper's; the ImageNet stem needs at least 75x75. Below 75 pixels
(`stem="auto"`) the small-input stem keeps the same convs (same parameters) at stride 1, padded,
without the two max pools, so 28x28 reaches the 35x35 modules at 28x28, the 17x17 ones at 13x13
and the 8x8 ones at 6x6; the smallest input is then 7x7. The auxiliary head's 5x5/3 average pool
needs a 17x17 map; on a smaller map it pools adaptively to 5x5 instead.
"""

from __future__ import annotations

import torch
from torch import nn

from ..layers import ConvBNAct, kaiming_init, knobs, output_hw
from .registry import register_model
from .stems import Stem, use_small_stem

IMAGENET_STEM_MIN = 75  # 75 -> 35 -> 7 at the 35x35 modules -> 3 at 17x17 -> 1 at 8x8
# The stem: (name, out channels, kernel, stride, padding), "M" = 3x3/2 max pool. (N, 192, 35, 35) at 299.
STEM = [("1a", 32, 3, 2, 0), ("2a", 32, 3, 1, 0), ("2b", 64, 3, 1, 1), "M", ("3b", 80, 1, 1, 0),
        ("4a", 192, 3, 1, 0), "M"]
# Table 1's modules: (name, kind, its width). 35: Figure 5 (width = pool projection); 17: Figure 6
# (width = the 7x7 branches' inner channels); 8: Figure 7; reduce: Figure 10's grid reductions.
BLOCKS = [("5b", "35", 32), ("5c", "35", 64), ("5d", "35", 64), ("6a", "reduce35", 0),
          ("6b", "17", 128), ("6c", "17", 160), ("6d", "17", 160), ("6e", "17", 192), ("7a", "reduce17", 0),
          ("7b", "8", 0), ("7c", "8", 0)]
AUX_AFTER, AUX = "6e", "aux"  # the auxiliary head's place, and its name among the blocks


def conv(in_channels: int, out_channels: int, kernel: int | tuple[int, int], stride: int = 1,
         padding: int | tuple[int, int] | None = None) -> ConvBNAct:
    """Conv-BN-ReLU, padded to keep the size unless `padding` says otherwise."""
    return ConvBNAct(in_channels, out_channels, kernel, stride, padding)


def chain(in_channels: int, *layers) -> tuple[nn.Sequential, int]:
    """Convs in series from (out, kernel[, stride, padding]) tuples; returns them and the channels out."""
    convs = []
    for out, *geometry in layers:
        convs.append(conv(in_channels, out, *geometry))
        in_channels = out
    return nn.Sequential(*convs), in_channels


class Branches(nn.ModuleDict):
    """Named branches applied to the same input, their outputs concatenated along channels."""

    def __init__(self, branches: dict[str, nn.Module], out_channels: int):
        super().__init__(branches)
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([branch(x) for branch in self.values()], dim=1)


def _pool_projection(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(nn.AvgPool2d(3, 1, 1), conv(in_channels, out_channels, 1))


def inception_35(c: int, pool_proj: int) -> Branches:  # Figure 5: 64 + 64 + 96 + pool_proj channels
    return Branches({"1x1": conv(c, 64, 1), "5x5": chain(c, (48, 1), (64, 5))[0],
                     "3x3dbl": chain(c, (64, 1), (96, 3), (96, 3))[0], "pool": _pool_projection(c, pool_proj)},
                    64 + 64 + 96 + pool_proj)


def reduce_35(c: int, _: int) -> Branches:  # Figure 10: 35x35 -> 17x17, 384 + 96 + c channels
    return Branches({"3x3": conv(c, 384, 3, 2, 0), "3x3dbl": chain(c, (64, 1), (96, 3), (96, 3, 2, 0))[0],
                     "pool": nn.MaxPool2d(3, 2)}, 384 + 96 + c)


def inception_17(c: int, c7: int) -> Branches:  # Figure 6: 4 x 192 = 768 channels
    return Branches({"1x1": conv(c, 192, 1),
                     "7x7": chain(c, (c7, 1), (c7, (1, 7)), (192, (7, 1)))[0],
                     "7x7dbl": chain(c, (c7, 1), (c7, (7, 1)), (c7, (1, 7)), (c7, (7, 1)), (192, (1, 7)))[0],
                     "pool": _pool_projection(c, 192)}, 4 * 192)


def reduce_17(c: int, _: int) -> Branches:  # Figure 10 at 17x17 -> 8x8: 320 + 192 + c channels
    return Branches({"3x3": chain(c, (192, 1), (320, 3, 2, 0))[0],
                     "7x7x3": chain(c, (192, 1), (192, (1, 7)), (192, (7, 1)), (192, 3, 2, 0))[0],
                     "pool": nn.MaxPool2d(3, 2)}, 320 + 192 + c)


def _expanded(c: int) -> Branches:  # Figure 7's side-by-side 1x3 and 3x1
    return Branches({"1x3": conv(c, c, (1, 3)), "3x1": conv(c, c, (3, 1))}, 2 * c)


def inception_8(c: int, _: int) -> Branches:  # Figure 7: 320 + 768 + 768 + 192 = 2048 channels
    return Branches({"1x1": conv(c, 320, 1), "3x3": nn.Sequential(conv(c, 384, 1), _expanded(384)),
                     "3x3dbl": nn.Sequential(conv(c, 448, 1), conv(448, 384, 3), _expanded(384)),
                     "pool": _pool_projection(c, 192)}, 2048)


KINDS = {"35": inception_35, "reduce35": reduce_35, "17": inception_17, "reduce17": reduce_17, "8": inception_8}


class AuxHead(nn.Sequential):
    """Sec. 4's auxiliary classifier on the last 17x17 map: 5x5/3 average pool (5x5 out at 17x17),
    1x1 conv to 128, 5x5 conv to 768 (1x1 out), global average, dense to the classes."""

    def __init__(self, in_channels: int, num_classes: int, grid: tuple[int, int]):
        pool = nn.AvgPool2d(5, 3) if min(grid) >= 17 else nn.AdaptiveAvgPool2d(5)  # small inputs: adaptive
        super().__init__(pool, conv(in_channels, 128, 1), conv(128, 768, 5, padding=0),  # (N, 768, 1, 1)
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(768, num_classes))


class InceptionV3(nn.Module):
    def __init__(self, num_classes: int, in_channels: int, input_size: tuple[int, int], small_stem: bool,
                 aux_logits: bool, dropout: float):
        super().__init__()
        stem, channels, pools = nn.Sequential(), in_channels, 0
        for item in STEM:
            if item == "M":
                pools += 1
                if not small_stem:
                    stem.add_module(f"pool{pools}", nn.MaxPool2d(3, 2))
                continue
            name, out, kernel, stride, padding = item
            stem.add_module(name, conv(channels, out, kernel) if small_stem else conv(channels, out, kernel,
                                                                                      stride, padding))
            channels = out
        self.stem = stem  # (N, 192, 35, 35)
        # The grids at this input (a reduction's pooling branch sets its output size) are checked
        # as the blocks are added: a one-line error, not a torch error in the first forward pass.
        self.blocks = nn.ModuleDict()
        for name, kind, width in BLOCKS:  # (N, 288, 35, 35) -> (N, 768, 17, 17) -> (N, 2048, 8, 8)
            self.blocks[name] = KINDS[kind](channels, width)
            if name == "6a":
                grid = output_hw([self.stem, self.blocks[name]["pool"]], input_size)  # the 17x17 grid
            if name == "7a":
                output_hw([self.blocks[name]["pool"]], grid)
            channels = self.blocks[name].out_channels
            if name == AUX_AFTER and aux_logits:
                # Registered between 6e and 7a, where it branches off and where torchvision's
                # Inception3 holds it: its state_dict then loads positionally (torchvision_keys.py).
                self.blocks[AUX] = AuxHead(channels, num_classes, grid)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), knobs.dropout(dropout),
                                  nn.Linear(channels, num_classes))
        kaiming_init(self)
        for m in self.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.eps = 1e-3  # TensorFlow's default, which the released weights were trained with

    def forward(self, x: torch.Tensor):
        x = self.stem(x)
        aux = None
        for name, block in self.blocks.items():
            if name != AUX:
                x = block(x)
            elif self.training:  # the auxiliary head only trains
                aux = block(x)  # (N, classes) from the (N, 768, 17, 17) map
        logits = self.head(x)
        return logits if aux is None else (logits, aux)


@register_model("inception_v3", family="inception", year=2016, input_size=(3, 299, 299), num_classes=1000,
                params=27_161_264, min_size=7, small_input_stem=True,
                paper="Szegedy et al., Rethinking the Inception Architecture for Computer Vision",
                note="the released (TensorFlow / torchvision) layout; counted with its auxiliary head")
def inception_v3(num_classes: int, in_channels: int, input_size: tuple[int, int], aux_logits: bool = True,
                 dropout: float = 0.5, stem: Stem = "auto") -> InceptionV3:
    """Inception v3 as released.

    Args:
        aux_logits: the auxiliary classifier after 6e (paper: on, for training; counted by torchvision);
            in training mode the model then returns (logits, aux), in eval mode logits
        dropout: probability before the classifier (paper: 0.5 in the released model); 0 = none
        stem: small = the stem's convs at stride 1 without its max pools; auto picks it below 75 pixels
    """
    return InceptionV3(num_classes, in_channels, input_size, use_small_stem(stem, input_size, IMAGENET_STEM_MIN),
                       aux_logits, knobs.check_dropout(dropout))
