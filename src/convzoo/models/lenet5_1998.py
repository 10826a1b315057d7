"""LeNet-5 as published: LeCun et al., "Gradient-based learning applied to document recognition",
Proceedings of the IEEE, 1998 (Section II.B and Appendix A).

C1 (6@28x28) → S2 → C3 (16@10x10, partially connected) → S4 → C5 (120) → F6 (84) → RBF output,
60,000 trainable parameters on a 1x32x32 input, every layer up to F6 followed by the scaled tanh
f(a) = 1.7159 tanh(2a/3). Faithful to the paper:
- S2 and S4 are trainable subsampling: the sum of each 2x2 block times a learned coefficient plus
  a learned bias, one pair per map.
- C3 connects each of its 16 maps to only some S2 maps, following the paper's Table I.
- The output is one Euclidean RBF unit per class, y_i = sum_j (x_j - w_ij)^2, with fixed +-1
  codes (a buffer, not trained).
Different from the paper, and why:
- The model returns -y_i (logits-like: the largest output is the nearest code, the paper's
  decision rule). It trains with cross-entropy, or with the paper's MAP criterion (`--loss map`,
  train/tasks.py); the recipe `lenet5-paper` trains it as the paper did (docs/baselines.md).
- The paper's codes are stylised 7x12 bitmaps of the characters (its Fig. 3), published as a
  picture, not as data. `codes="digits"` uses bitmaps of the ten digits drawn here after that
  figure (DIGIT_BITMAPS); the default `codes="random"` gives each class a fixed pseudo-random +-1
  pattern of 84 values (seed 1998), so any num_classes works.
- Weights start uniform in +-2.4 / fan-in, as in the paper (`init="sqrt"`: +-sqrt(3 / fan-in), a
  standard deviation of 1/sqrt(fan-in), for the ablation); subsampling coefficients start at 1/4
  (plain averaging), which the paper does not specify. `head="linear"` replaces the RBF units
  with a plain 84 -> classes layer (the ablation's other head).
Inputs of 28 to 31 pixels (MNIST) are padded to the paper's 32x32 field with `background`, the
value a blank pixel has after the input scaling (0 by default; the paper's scaling gives -0.1).
Larger inputs widen F6's input (the count is at 32x32).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from ..errors import ConvzooError
from .registry import register_model

# Table I: row i = S2 map i, column j = C3 map j; X = connected.
C3_TABLE = (
    "X   XXX  XXXX XX",
    "XX   XXX  XXXX X",
    "XXX   XXX  X XXX",
    " XXX  XXXX  X XX",
    "  XXX  XXXX XX X",
    "   XXX  XXXX XXX",
)
CODE_LENGTH = 84  # F6 units: a 7x12 bitmap per class in the paper
CODE_SEED = 1998
# The digits 0-9 on the paper's 7-wide, 12-high grid (# = +1, . = -1), drawn after its Fig. 3:
# the glyph in rows 1-9, the last two rows left for descenders as in a character cell.
DIGIT_BITMAPS = tuple(tuple(glyph.split()) for glyph in (
    "....... ..###.. .##.##. ##...## ##...## ##...## ##...## ##...## .##.##. ..###.. ....... .......",
    "....... ...##.. ..###.. .####.. ...##.. ...##.. ...##.. ...##.. ...##.. .###### ....... .......",
    "....... .#####. ##...## .....## ....##. ...##.. ..##... .##.... ##..... ####### ....... .......",
    "....... .#####. ##...## .....## .....## ..####. .....## .....## ##...## .#####. ....... .......",
    "....... ....##. ...###. ..####. .##.##. ##..##. ####### ....##. ....##. ....##. ....... .......",
    "....... ####### ##..... ##..... ######. .....## .....## .....## ##...## .#####. ....... .......",
    "....... ..####. .##.... ##..... ######. ##...## ##...## ##...## ##...## .#####. ....... .......",
    "....... ####### .....## ....##. ....##. ...##.. ...##.. ..##... ..##... ..##... ....... .......",
    "....... .#####. ##...## ##...## ##...## .#####. ##...## ##...## ##...## .#####. ....... .......",
    "....... .#####. ##...## ##...## ##...## .###### .....## .....## ....##. .####.. ....... .......",
))


def digit_codes() -> torch.Tensor:
    """(10, 84) codes of +-1, one 7x12 bitmap per digit read row by row."""
    return torch.tensor([[1.0 if c == "#" else -1.0 for row in glyph for c in row] for glyph in DIGIT_BITMAPS])


class ScaledTanh(nn.Module):
    """The paper's squashing function 1.7159 tanh(2a/3): f(1) ~ 1, f(-1) ~ -1, steepest at 0."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 1.7159 * torch.tanh(x * (2 / 3))


class Subsampling(nn.Module):
    """Sum of each 2x2 block, times a trainable coefficient, plus a trainable bias (per map)."""

    def __init__(self, channels: int):
        super().__init__()
        self.coefficient = nn.Parameter(torch.full((channels,), 0.25))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        block_sum = nn.functional.avg_pool2d(x, 2) * 4
        return block_sum * self.coefficient.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


class PaddedConv2d(nn.Conv2d):
    """C1: a conv whose input is first padded with `background` (a blank pixel's value), not zero."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, pad: int, background: float):
        super().__init__(in_channels, out_channels, kernel_size)
        self.pad, self.background = pad, background

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pad:
            x = nn.functional.pad(x, (self.pad,) * 4, value=self.background)
        return super().forward(x)


class PartialConv2d(nn.Module):
    """A conv in which output map j sees only the input maps `inputs[j]`.

    Outputs with the same number of inputs form one grouped conv over their gathered inputs, so
    only the table's connections have weights (C3: 1,516 instead of 2,416 parameters).
    """

    def __init__(self, inputs: list[list[int]], kernel_size: int):
        super().__init__()
        self.convs = nn.ModuleList()
        self.gathers: list[list[int]] = []  # plain lists, not buffers: indices are not state
        order: list[int] = []
        for fan_in in sorted({len(ins) for ins in inputs}):
            outputs = [j for j, ins in enumerate(inputs) if len(ins) == fan_in]
            self.gathers.append([k for j in outputs for k in inputs[j]])
            self.convs.append(nn.Conv2d(len(self.gathers[-1]), len(outputs), kernel_size,
                                        groups=len(outputs)))
            order += outputs
        # the grouped convs emit outputs grouped by fan-in; this puts them back in table order
        self.restore = sorted(range(len(order)), key=order.__getitem__)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = [conv(x[:, gather]) for conv, gather in zip(self.convs, self.gathers)]
        return torch.cat(parts, dim=1)[:, self.restore]


class EuclideanRBF(nn.Module):
    """Returns minus the squared distance from the input to each class's fixed code."""

    def __init__(self, num_classes: int, length: int = CODE_LENGTH, seed: int = CODE_SEED, digits: bool = False):
        super().__init__()
        if digits:
            if (num_classes, length) != (10, CODE_LENGTH):
                raise ConvzooError(f"codes=digits are 10 bitmaps of 84 values; this model has {num_classes} classes")
            codes = digit_codes()
        else:
            generator = torch.Generator().manual_seed(seed)
            codes = torch.randint(0, 2, (num_classes, length), generator=generator, device="cpu") * 2.0 - 1.0
        self.register_buffer("codes", codes.to(torch.get_default_device()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return -((x.unsqueeze(1) - self.codes) ** 2).sum(dim=-1)


def _paper_init(model: nn.Module, init: str = "paper") -> nn.Module:
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            fan_in = m.weight[0].numel()  # inputs of one output unit
            bound = 2.4 / fan_in if init == "paper" else (3 / fan_in) ** 0.5
            nn.init.uniform_(m.weight, -bound, bound)
            nn.init.uniform_(m.bias, -bound, bound)
    return model


@register_model("lenet5_1998", family="lenet", paper="LeCun et al., Gradient-based learning applied to "
                "document recognition", year=1998, input_size=(1, 32, 32), num_classes=10, params=60_000,
                min_size=28, small_input_stem=True,
                note="as published (Table I C3, trainable subsampling, RBF output); outputs -distance; "
                     "codes pseudo-random or digit bitmaps")
def lenet5_1998(num_classes: int, in_channels: int, input_size: tuple[int, int],
                codes: Literal["random", "digits"] = "random", background: float = 0.0,
                init: Literal["paper", "sqrt"] = "paper", head: Literal["rbf", "linear"] = "rbf") -> nn.Sequential:
    """Args:
        codes: the RBF units' fixed +-1 codes: random (seed 1998) or digits (7x12 bitmaps, 10 classes)
        background: the value 28x28 inputs are padded with to 32x32 (a blank pixel after input scaling)
        init: paper (uniform +-2.4/fan-in) or sqrt (uniform +-sqrt(3/fan-in))
        head: rbf (the paper's Euclidean RBF units) or linear (84 -> classes)
    """
    pad = 2 if min(input_size) < 32 else 0  # 28x28 digits centred in the paper's 32x32 field
    h, w = (((s + 2 * pad - 4) // 2 - 4) // 2 - 4 for s in input_size)  # C5's output size
    if min(h, w) < 1:
        raise ConvzooError(f"lenet5_1998 needs inputs of at least 28x28, got {input_size[0]}x{input_size[1]}")
    c3_inputs = [[i for i, row in enumerate(C3_TABLE) if row[j] == "X"] for j in range(16)]
    output = EuclideanRBF(num_classes, digits=codes == "digits") if head == "rbf" else nn.Linear(84, num_classes)
    return _paper_init(nn.Sequential(
        PaddedConv2d(in_channels, 6, 5, pad, background), ScaledTanh(),  # C1: (N, 6, 28, 28) from (N, C, 32, 32)
        Subsampling(6), ScaledTanh(),  # S2: (N, 6, 14, 14)
        PartialConv2d(c3_inputs, 5), ScaledTanh(),  # C3: (N, 16, 10, 10)
        Subsampling(16), ScaledTanh(),  # S4: (N, 16, 5, 5)
        nn.Conv2d(16, 120, 5), ScaledTanh(),  # C5: (N, 120, 1, 1)
        nn.Flatten(),
        nn.Linear(120 * h * w, 84), ScaledTanh(),  # F6: (N, 84)
        output,  # (N, num_classes): -squared distance to each code (or linear logits)
    ), init)
