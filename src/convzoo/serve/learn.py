"""The worked-examples page's arithmetic: the lectures' cross-correlations, computed by
`convzoo.reference` (NumPy) with the padding, stride and channel count the page's sliders set,
with every step (window, products, sum) so the page can walk through them."""

from __future__ import annotations

import numpy as np

from ..errors import ConvzooError
from ..reference import KERNELS, conv2d_forward

X = np.arange(9.0).reshape(3, 3)
K = np.array([[0.0, 1.0], [2.0, 3.0]])
CARTESIAN = np.array([[0, 1, 0, 1], [0, 1, 0, 1], [1, 1, 1, 1], [0, -2, 0, -2]], dtype=np.float64)
VERTICAL = np.tile([-0.5, 1.0, -0.5], (3, 1))
STEPPED = np.add.outer(np.arange(6.0), np.zeros(6)) * (np.arange(6) >= 3)  # a vertical step edge

# name -> (title, input (H, W), kernel, the lecture's settings: padding, stride (h, w), channels)
EXAMPLES = {
    "corr2d": ("corr2d: 3x3 input, 2x2 kernel -> 19 25 / 37 43", X, K, 0, (1, 1), 1),
    "padding": ("padding 1: the output grows to 4x4", X, K, 1, (1, 1), 1),
    "stride": ("padding 1, strides (3, 2): 0 8 / 6 8", X, K, 1, (3, 2), 1),
    "channels": ("two input channels: 56 72 / 104 120 (channel 2 is input + 1, kernel + 1)", X, K, 0, (1, 1), 2),
    "cartesian": ("the Cartesian axes image, vertical-line filter -> 2 -2 / -1 1", CARTESIAN, VERTICAL, 0, (1, 1), 1),
    "edge": ("a step edge through the Laplacian edge kernel", STEPPED, KERNELS["edge"].weights, 0, (1, 1), 1),
}
MAX_PADDING, MAX_STRIDE, MAX_CHANNELS = 3, 4, 3


def _bounded(name: str, value: int, low: int, high: int) -> int:
    if not low <= value <= high:
        raise ConvzooError(f"{name} must be {low} to {high}, not {value}")
    return value


def corr2d_example(example: str = "corr2d", padding: int | None = None, stride_h: int | None = None,
                   stride_w: int | None = None, channels: int | None = None) -> dict:
    """The example with the given settings (each defaults to the lecture's), computed step by step.
    Channel c (from 0) of the input is the example's input + c, of the kernel the kernel + c."""
    if example not in EXAMPLES:
        raise ConvzooError(f"unknown example {example!r}; the examples are {', '.join(EXAMPLES)}")
    title, x2, k2, pad0, (sh0, sw0), ch0 = EXAMPLES[example]
    padding = _bounded("padding", pad0 if padding is None else padding, 0, MAX_PADDING)
    sh = _bounded("stride", sh0 if stride_h is None else stride_h, 1, MAX_STRIDE)
    sw = _bounded("stride", sw0 if stride_w is None else stride_w, 1, MAX_STRIDE)
    channels = _bounded("channels", ch0 if channels is None else channels, 1, MAX_CHANNELS)
    x = np.stack([x2 + c for c in range(channels)])[None]  # (1, C, H, W)
    k = np.stack([k2 + c for c in range(channels)])[None]  # (1, C, kh, kw)
    try:
        out, _ = conv2d_forward(x, k, stride=(sh, sw), padding=padding)
    except ValueError as exc:
        raise ConvzooError(f"with these settings the kernel does not fit ({exc})") from None
    padded = np.pad(x[0], ((0, 0), (padding, padding), (padding, padding)))
    kh, kw = k2.shape
    steps = []
    for i in range(out.shape[2]):
        for j in range(out.shape[3]):
            window = padded[:, i * sh:i * sh + kh, j * sw:j * sw + kw]
            products = window * k[0]
            steps.append({"out": [i, j], "origin": [i * sh, j * sw], "products": products.tolist(),
                          "channel_sums": products.sum(axis=(1, 2)).tolist(), "value": float(out[0, 0, i, j])})
    return {"example": example, "title": title, "examples": {n: e[0] for n, e in EXAMPLES.items()},
            "padding": padding, "stride": [sh, sw], "channels": channels,
            "limits": {"padding": MAX_PADDING, "stride": MAX_STRIDE, "channels": MAX_CHANNELS},
            "input": x[0].tolist(), "kernel": k[0].tolist(), "padded": padded.tolist(),
            "output": out[0, 0].tolist(), "steps": steps}
