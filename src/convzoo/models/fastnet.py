"""FastNet: convzoo's own small residual net for 28x28 inputs (2026), designed for time to accuracy
on a 2-core CPU (`convzoo train --recipe fast|accurate|best`; measurements in docs/speed.md).

Not from a paper. The layout follows airbench's CIFAR-10 speed-run nets, scaled down, and spends
its multiply-adds at low resolution, because convolution backward is most of a training step and
every conv at 28x28 costs 4x one at 14x14 and 16x one at 7x7:
- stem: a 3x3 conv at full resolution (cheap: one input channel), then a 2x2 max pool before BN
  and ReLU (as airbench does: they run on a quarter of the elements);
- stage 1 (14x14): a conv that widens to 32 channels and one residual block (`BasicBlock`);
- stage 2 (7x7): a 2x2 max pool first, then a conv that widens to 64 channels and one residual block;
- a global max pool and one linear layer (max keeps a part's strongest response wherever it is).
9.1 M multiply-adds per 28x28 image. Until 2026-11-22 stage 2 widened at 14x14 and pooled after
(12 M multiply-adds) and the stem pooled after BN and ReLU: 0.3 points better after the fast
recipe's 3 epochs, 28% slower (docs/speed.md). `widths` scales the three stages. Any input from
4x4 up runs (two 2x2 pools). `whiten=True` makes the stem conv a frozen patch-whitening layer
(layers/whiten.py), fitted to the training images by the Trainer (`fit_to_data`).
"""

from __future__ import annotations

from torch import nn

from ..errors import ConvzooError
from ..layers import BasicBlock, ConvBNAct, kaiming_init, whiten_conv
from .registry import register_model

WIDTHS = (16, 32, 64)


def _conv_pool_bn_act(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False), nn.MaxPool2d(2),
                         nn.BatchNorm2d(out_channels), nn.ReLU())


class FastNet(nn.Module):
    def __init__(self, num_classes: int, in_channels: int, widths: tuple[int, int, int] = WIDTHS,
                 whiten: bool = False):
        super().__init__()
        stem, mid, wide = widths
        directions = in_channels * 3 * 3  # of a 3x3 patch: the whitened stem takes each in both signs
        if whiten and (stem % 2 or stem > 2 * directions):
            raise ConvzooError(f"fastnet: a whitened stem is an even width of at most {2 * directions} "
                               f"(2 x the {directions} directions of a {in_channels}x3x3 patch), not {stem}")
        self.whiten = whiten
        self.stem = _conv_pool_bn_act(in_channels, stem)  # (N, 16, 14, 14)
        self.stage1 = nn.Sequential(ConvBNAct(stem, mid, 3), BasicBlock(mid, mid))  # (N, 32, 14, 14)
        self.stage2 = nn.Sequential(nn.MaxPool2d(2), ConvBNAct(mid, wide, 3), BasicBlock(wide, wide))  # (N, 64, 7, 7)
        self.head = nn.Sequential(nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(wide, num_classes))
        kaiming_init(self)
        if whiten:
            self.stem[0].weight.requires_grad_(False)  # set by fit_to_data

    def fit_to_data(self, images) -> None:
        """Whiten the stem on a sample of normalised training images (N, C, H, W); no-op unless `whiten`."""
        if self.whiten:
            whiten_conv(self.stem[0], images)

    def forward(self, x):
        return self.head(self.stage2(self.stage1(self.stem(x))))


@register_model("fastnet", family="convzoo", year=2026, paper="convzoo's own small residual net for 28x28",
                input_size=(1, 28, 28), num_classes=10, params=116_602, min_size=4,
                note="not from a paper: designed for `convzoo train --recipe fast` (docs/speed.md)")
def fastnet(num_classes: int, in_channels: int, input_size: tuple[int, int],
            widths: tuple[int, int, int] = WIDTHS, whiten: bool = False) -> FastNet:
    return FastNet(num_classes, in_channels, tuple(widths), whiten)
