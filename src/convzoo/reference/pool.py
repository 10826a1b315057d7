"""Pooling in NumPy with forward and backward: max, average (torch semantics), global average.

Windows are the same strided views as the convolutions use (floor mode: a window never hangs
over the padded border). Max pooling pads with -inf, so padding never wins; average pooling pads
with zeros and divides by the full window size (torch's default count_include_pad=True).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .conv import ConvGeometry, pad_hw, unpad_hw


def _geometry(kernel_size, stride, padding, dilation) -> ConvGeometry:
    geometry = ConvGeometry.make(kernel_size, kernel_size if stride is None else stride, padding,
                                 dilation, 1)
    top, bottom, left, right = geometry.padding
    (kh, kw) = geometry.kernel
    if max(top, bottom) > kh // 2 or max(left, right) > kw // 2:
        # A window made only of padding would have no input to take a max or mean of.
        raise ValueError(f"padding {geometry.padding} must be at most half the kernel {geometry.kernel}")
    return geometry


def _tap_slices(i: int, j: int, geometry: ConvGeometry, out_hw):
    """The strided slices of the padded input that kernel tap (i, j) visits, as an index."""
    (strh, strw), (dh, dw) = geometry.stride, geometry.dilation
    top, left = i * dh, j * dw
    return (..., slice(top, top + strh * (out_hw[0] - 1) + 1, strh),
            slice(left, left + strw * (out_hw[1] - 1) + 1, strw))


@dataclass
class MaxPoolCache:
    geometry: ConvGeometry
    x_shape: tuple
    argmax: np.ndarray  # (N, C, OH, OW): flat kernel tap of each window's maximum


def max_pool2d_forward(x, kernel_size, stride=None, padding=0, dilation=1):
    """Max over each window. stride defaults to kernel_size. Returns (out, cache).

    With dilation, a window on a tiny input can lie wholly in the padding; its max is -inf (as in
    torch) and it passes no gradient."""
    geometry = _geometry(kernel_size, stride, padding, dilation)
    oh, ow = geometry.output_hw(*x.shape[2:])
    xp = pad_hw(x, geometry.padding, value=-np.inf)
    kh, kw = geometry.kernel
    # One pass per kernel tap over the whole output, keeping the running max and where it was.
    # Only a strictly larger value takes over, so the first maximum in scan order wins a tie,
    # as in torch: both send the gradient to the same input.
    out = xp[_tap_slices(0, 0, geometry, (oh, ow))].copy()
    argmax = np.zeros(out.shape, dtype=np.uint8 if kh * kw < 256 else np.int64)
    for tap in range(1, kh * kw):
        values = xp[_tap_slices(tap // kw, tap % kw, geometry, (oh, ow))]
        larger = values > out
        np.copyto(out, values, where=larger)
        argmax[larger] = tap
    return out, MaxPoolCache(geometry, x.shape, argmax)


def max_pool2d_backward(dout, cache: MaxPoolCache):
    """Each window's gradient goes to the one input that was its maximum. Returns dx."""
    geometry, argmax = cache.geometry, cache.argmax
    top, bottom, left, right = geometry.padding
    n, c, h, w = cache.x_shape
    dxp = np.zeros((n, c, h + top + bottom, w + left + right), dtype=dout.dtype)
    kh, kw = geometry.kernel
    for i in range(kh):
        for j in range(kw):
            dxp[_tap_slices(i, j, geometry, dout.shape[2:])] += np.where(argmax == i * kw + j, dout, 0)
    return unpad_hw(dxp, geometry.padding)


def avg_pool2d_forward(x, kernel_size, stride=None, padding=0):
    """Mean over each window, zero padding counted in the divisor. Returns (out, cache)."""
    geometry = _geometry(kernel_size, stride, padding, 1)
    out_hw = geometry.output_hw(*x.shape[2:])
    xp = pad_hw(x, geometry.padding)
    kh, kw = geometry.kernel
    out = np.zeros(x.shape[:2] + out_hw, dtype=np.result_type(x.dtype, np.float32))
    for i in range(kh):
        for j in range(kw):
            out += xp[_tap_slices(i, j, geometry, out_hw)]
    out /= kh * kw
    return out, (geometry, x.shape)


def avg_pool2d_backward(dout, cache):
    """Every input of a window gets 1/(KH*KW) of its gradient. Returns dx."""
    geometry, (n, c, h, w) = cache
    top, bottom, left, right = geometry.padding
    kh, kw = geometry.kernel
    dxp = np.zeros((n, c, h + top + bottom, w + left + right), dtype=dout.dtype)
    share = dout / (kh * kw)
    for i in range(kh):
        for j in range(kw):
            dxp[_tap_slices(i, j, geometry, dout.shape[2:])] += share
    return unpad_hw(dxp, geometry.padding)


def global_avg_pool_forward(x):
    """(N, C, H, W) -> (N, C): the mean of each channel (NiN, GoogLeNet, ResNet heads)."""
    return x.mean(axis=(2, 3)), x.shape


def global_avg_pool_backward(dout, cache):
    n, c, h, w = cache
    return np.broadcast_to((dout / (h * w))[:, :, None, None], (n, c, h, w)).copy()
