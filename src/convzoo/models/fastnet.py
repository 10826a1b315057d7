"""FastNet: convzoo's own small residual net for 28x28 inputs (2026), built for time to accuracy
on a 2-core CPU (`convzoo train --recipe fast`, docs/speed.md).

Not from a paper; the layout follows airbench's CIFAR-10 speed-run nets, scaled down:
- a 3x3 stem at full resolution (cheap: one input channel), then two stages, each a 3x3 conv
  that widens the channels, a 2x2 max pool, BN and ReLU, then one residual block
  (`convzoo.layers.BasicBlock`);
- the pool comes before BN and ReLU, so these run on a quarter of the elements (airbench does
  the same); convolution backward is most of the step's time, so the stage-1 conv runs after
  the stem's pool, at 14x14, which costs 4x less than at 28x28 for little accuracy;
- a global max pool and one linear layer as the head (max keeps the strongest response of a
  local pattern wherever it is; at 7x7 it trained faster than average pooling here).
Any input from 4x4 up runs (two 2x2 pools); the recipe trains it at 28x28.
"""

from __future__ import annotations

from torch import nn

from ..layers import BasicBlock, ConvBNAct, kaiming_init
from .registry import register_model

WIDTHS = (16, 32, 64)


def _widen_and_pool(in_channels: int, out_channels: int) -> nn.Sequential:
    """conv 3x3 → max pool 2 → BN → ReLU: the pool halves H and W before the elementwise work."""
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False), nn.MaxPool2d(2),
                         nn.BatchNorm2d(out_channels), nn.ReLU())


class FastNet(nn.Module):
    def __init__(self, num_classes: int, in_channels: int, widths: tuple[int, int, int] = WIDTHS,
                 blocks: tuple[int, int] = (1, 1)):
        super().__init__()
        stem, mid, wide = widths
        self.stem = nn.Sequential(ConvBNAct(in_channels, stem, 3), nn.MaxPool2d(2))  # (N, 32, 14, 14)
        self.stage1 = nn.Sequential(ConvBNAct(stem, mid, 3),
                                    *[BasicBlock(mid, mid) for _ in range(blocks[0])])  # (N, 64, 14, 14)
        self.stage2 = nn.Sequential(_widen_and_pool(mid, wide),
                                    *[BasicBlock(wide, wide) for _ in range(blocks[1])])  # (N, 128, 7, 7)
        self.head = nn.Sequential(nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(wide, num_classes))
        kaiming_init(self)

    def forward(self, x):
        return self.head(self.stage2(self.stage1(self.stem(x))))


@register_model("fastnet", family="convzoo", year=2026,
                paper="convzoo's own small residual net for 28x28", input_size=(1, 28, 28),
                num_classes=10, params=116_602, min_size=4,
                note="designed for `convzoo train --recipe fast` (docs/speed.md)")
def fastnet(num_classes: int, in_channels: int, input_size: tuple[int, int],
            widths: tuple[int, int, int] = WIDTHS, blocks: tuple[int, int] = (1, 1)) -> FastNet:
    return FastNet(num_classes, in_channels, tuple(widths), tuple(blocks))
