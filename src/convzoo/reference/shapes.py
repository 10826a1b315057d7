"""Shape arithmetic of convolutions: output sizes, parameter counts, receptive fields.

Also the small argument normalisers the ops share (an int or a tuple for stride, padding, …).
"""

from __future__ import annotations

from typing import NamedTuple


def pair(value, name: str) -> tuple[int, int]:
    """`3` -> (3, 3); `(3, 2)` -> (3, 2), as (height, width)."""
    if isinstance(value, int):
        result = (value, value)
    else:
        result = tuple(int(v) for v in value)
        if len(result) != 2:
            raise ValueError(f"{name} must be an int or a pair (height, width), got {value!r}")
    return result


def padding4(value) -> tuple[int, int, int, int]:
    """Padding as (top, bottom, left, right) from an int, a pair (height, width) or a 4-tuple."""
    if isinstance(value, int):
        result = (value,) * 4
    else:
        value = tuple(int(v) for v in value)
        if len(value) == 2:
            result = (value[0], value[0], value[1], value[1])
        elif len(value) == 4:
            result = value
        else:
            raise ValueError(f"padding must be an int, (height, width) or (top, bottom, left, right), "
                             f"got {value!r}")
    if min(result) < 0:
        raise ValueError(f"padding must not be negative, got {value!r}")
    return result


def conv_output_shape(n: int, k: int, p=0, s: int = 1, d: int = 1, *, strict: bool = False) -> int:
    """Output length of a convolution or pooling along one axis.

    `floor((n - k_eff + p_total + s) / s)` with `k_eff = d*(k-1) + 1` and `p_total` the padding of
    both sides together (`p` is the padding of one side, or a pair (before, after)). This floor is
    what torch does. With `strict=True` a kernel that does not land exactly on the last pixel is an
    error, as in the lecture: 7x7 input, 3x3 kernel, stride 3 -> (7 - 3)/3 is not an integer.
    """
    p_total = 2 * p if isinstance(p, int) else sum(p)
    k_eff = d * (k - 1) + 1
    if min(n, k, s, d) < 1 or p_total < 0:
        raise ValueError(f"sizes must be positive: n={n}, k={k}, s={s}, d={d}, padding={p!r}")
    span = n - k_eff + p_total
    if span < 0:
        raise ValueError(f"kernel does not fit: effective kernel {k_eff} is larger than the "
                         f"padded input {n + p_total}")
    if strict and span % s != 0:
        raise ValueError(f"kernel does not fit: (n - k_eff + padding) / stride = {span}/{s} "
                         f"is not an integer (n={n}, k_eff={k_eff}, padding={p_total}, stride={s})")
    return (span + s) // s


def conv_params(c_in: int, c_out: int, k, groups: int = 1, bias: bool = True) -> int:
    """Learnable parameters of a conv layer: (k*k*c_in/groups)*c_out weights + c_out biases."""
    kh, kw = pair(k, "k")
    if c_in % groups or c_out % groups:
        raise ValueError(f"groups={groups} must divide c_in={c_in} and c_out={c_out}")
    return kh * kw * (c_in // groups) * c_out + (c_out if bias else 0)


class ReceptiveField(NamedTuple):
    """After one layer: `rf` input pixels seen by one output unit, `jump` input pixels between
    neighbouring output units, `start` input coordinate of the centre of output unit 0
    (input pixel i has its centre at coordinate i; padding can make `start` negative)."""

    rf: int
    jump: int
    start: float


def receptive_field(layers) -> list[ReceptiveField]:
    """Per-layer receptive field of a stack of (kernel, stride, padding[, dilation]) layers."""
    rf, jump, start = 1, 1, 0.0
    result = []
    for layer in layers:
        k, s, p, *rest = layer
        d = rest[0] if rest else 1
        k_eff = d * (k - 1) + 1
        rf = rf + (k_eff - 1) * jump
        start = start + ((k_eff - 1) / 2 - p) * jump
        jump = jump * s
        result.append(ReceptiveField(rf, jump, start))
    return result
