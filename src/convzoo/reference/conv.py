"""Convolutions in NumPy with forward and backward: corr2d, conv2d, conv_transpose2d.

Layouts follow torch: images (N, C, H, W); conv2d weights (C_out, C_in/groups, KH, KW);
conv_transpose2d weights (C_in, C_out/groups, KH, KW). The vectorised conv2d is im2col (a strided
view copied once into columns) and one broadcast matmul over all groups; its backward turns the
column gradients back into an image with one strided add per kernel position (col2im), which is
fast because there are only KH*KW of them. The loop versions are the readable definition.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import as_strided, sliding_window_view

from .shapes import conv_output_shape, padding4, pair

# ---------------------------------------------------------------------------------------------
# corr2d: the lecture's single-channel cross-correlation, no padding, stride 1.


def corr2d_forward(x, k):
    """Y[i, j] = sum_ab X[i+a, j+b] K[a, b]. Returns (Y, cache)."""
    x, k = np.asarray(x), np.asarray(k)
    windows = sliding_window_view(x, k.shape)  # (OH, OW, KH, KW)
    return np.einsum("ijab,ab->ij", windows, k), (x, k)


def corr2d_backward(dout, cache):
    """Returns (dX, dK)."""
    x, k = cache
    windows = sliding_window_view(x, k.shape)
    dk = np.einsum("ijab,ij->ab", windows, dout)
    dx = np.zeros(x.shape, dtype=np.result_type(dout, k))
    oh, ow = dout.shape
    for a in range(k.shape[0]):
        for b in range(k.shape[1]):
            dx[a:a + oh, b:b + ow] += dout * k[a, b]
    return dx, dk


# ---------------------------------------------------------------------------------------------
# Shared pieces: padding, strided windows, col2im.


@dataclass(frozen=True)
class ConvGeometry:
    """Everything about a convolution's shape except the numbers in it."""

    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int, int, int]  # top, bottom, left, right
    dilation: tuple[int, int]
    groups: int

    @classmethod
    def make(cls, kernel, stride, padding, dilation, groups) -> ConvGeometry:
        geometry = cls(pair(kernel, "kernel"), pair(stride, "stride"), padding4(padding),
                       pair(dilation, "dilation"), int(groups))
        if min(geometry.stride + geometry.dilation + geometry.kernel) < 1 or geometry.groups < 1:
            raise ValueError(f"kernel, stride, dilation and groups must be positive: {geometry}")
        return geometry

    def output_hw(self, h: int, w: int) -> tuple[int, int]:
        top, bottom, left, right = self.padding
        return (conv_output_shape(h, self.kernel[0], (top, bottom), self.stride[0], self.dilation[0]),
                conv_output_shape(w, self.kernel[1], (left, right), self.stride[1], self.dilation[1]))


def pad_hw(x: np.ndarray, padding: tuple[int, int, int, int], value=0) -> np.ndarray:
    """Pad the last two axes by (top, bottom, left, right); no copy when there is no padding."""
    if not any(padding):
        return x
    top, bottom, left, right = padding
    return np.pad(x, [(0, 0)] * (x.ndim - 2) + [(top, bottom), (left, right)], constant_values=value)


def unpad_hw(x: np.ndarray, padding: tuple[int, int, int, int]) -> np.ndarray:
    top, bottom, left, right = padding
    return x[..., top:x.shape[-2] - bottom, left:x.shape[-1] - right]


def windows_view(xp: np.ndarray, geometry: ConvGeometry, out_hw) -> np.ndarray:
    """Read-only view (N, C, KH, KW, OH, OW) of the padded input: [n, c, i, j, y, x] is the pixel
    under kernel tap (i, j) of output position (y, x). No copy."""
    sn, sc, sh, sw = xp.strides
    (kh, kw), (strh, strw), (dh, dw) = geometry.kernel, geometry.stride, geometry.dilation
    return as_strided(xp, shape=xp.shape[:2] + (kh, kw) + tuple(out_hw),
                      strides=(sn, sc, sh * dh, sw * dw, sh * strh, sw * strw), writeable=False)


def col2im(dcols: np.ndarray, padded_hw, geometry: ConvGeometry) -> np.ndarray:
    """Adjoint of `windows_view`: sum (N, C, KH, KW, OH, OW) back into a (N, C, *padded_hw) image."""
    n, c, kh, kw, oh, ow = dcols.shape
    (strh, strw), (dh, dw) = geometry.stride, geometry.dilation
    image = np.zeros((n, c) + tuple(padded_hw), dtype=dcols.dtype)
    for i in range(kh):
        for j in range(kw):
            top, left = i * dh, j * dw
            image[:, :, top:top + strh * (oh - 1) + 1:strh, left:left + strw * (ow - 1) + 1:strw] \
                += dcols[:, :, i, j]
    return image


def _check_4d(x, w) -> None:
    if np.ndim(x) != 4 or np.ndim(w) != 4:
        raise ValueError(f"expected input (N, C, H, W) and a 4-d weight, got shapes {np.shape(x)} "
                         f"and {np.shape(w)}")


def _check_groups(c_in: int, c_out: int, groups: int) -> None:
    if c_in % groups or c_out % groups:
        raise ValueError(f"groups={groups} must divide both channel counts ({c_in} in, {c_out} out)")


# ---------------------------------------------------------------------------------------------
# conv2d, vectorised.


@dataclass
class Conv2dCache:
    geometry: ConvGeometry
    x_shape: tuple
    cols: np.ndarray  # (N, G, C_in/G * KH * KW, OH * OW)
    w: np.ndarray
    has_bias: bool


def conv2d_forward(x, w, b=None, *, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation, as in every framework). Returns (out, cache).

    padding: int, (height, width) or (top, bottom, left, right); stride, dilation: int or pair.
    """
    _check_4d(x, w)
    n, c, h, wd = x.shape
    f, c_per_group, kh, kw = w.shape
    geometry = ConvGeometry.make((kh, kw), stride, padding, dilation, groups)
    _check_groups(c, f, groups)
    if c_per_group * groups != c:
        raise ValueError(f"weight expects {c_per_group * groups} input channels, input has {c}")
    oh, ow = geometry.output_hw(h, wd)
    # im2col: one copy of the strided view, (N, C, KH, KW, OH, OW) -> (N, G, Cg*KH*KW, OH*OW)
    windows = windows_view(pad_hw(x, geometry.padding), geometry, (oh, ow))
    cols = np.ascontiguousarray(windows).reshape(n, groups, c_per_group * kh * kw, oh * ow)
    w_matrix = w.reshape(groups, f // groups, c_per_group * kh * kw)
    out = np.matmul(w_matrix, cols).reshape(n, f, oh, ow)  # (N, G, F/G, OH*OW) -> (N, F, OH, OW)
    if b is not None:
        out += b.reshape(1, f, 1, 1)
    return out, Conv2dCache(geometry, x.shape, cols, w, b is not None)


def conv2d_backward(dout, cache: Conv2dCache, *, input_grad: bool = True):
    """Returns (dx, dw, db); db is None without bias, dx is None when input_grad=False (a first
    layer needs no input gradient, and skipping it saves the col2im)."""
    geometry, cols, w = cache.geometry, cache.cols, cache.w
    n, groups, k_per_group, _ = cols.shape
    f = w.shape[0]
    dout_groups = dout.reshape(n, groups, f // groups, -1)  # (N, G, F/G, OH*OW)
    db = dout.sum(axis=(0, 2, 3)) if cache.has_bias else None
    # One (F/G, P) @ (P, K) product per sample and group, summed: BLAS reads the transposed
    # columns in place, where einsum/tensordot would first copy all of them.
    dw = np.matmul(dout_groups, cols.transpose(0, 1, 3, 2)).sum(axis=0).reshape(w.shape)
    if not input_grad:
        return None, dw, db
    w_matrix = w.reshape(groups, f // groups, k_per_group)
    dcols = np.matmul(w_matrix.transpose(0, 2, 1), dout_groups)  # (N, G, Cg*KH*KW, OH*OW)
    c = cache.x_shape[1]
    (kh, kw), (oh, ow) = geometry.kernel, dout.shape[2:]
    top, bottom, left, right = geometry.padding
    padded_hw = (cache.x_shape[2] + top + bottom, cache.x_shape[3] + left + right)
    dxp = col2im(dcols.reshape(n, c, kh, kw, oh, ow), padded_hw, geometry)
    return unpad_hw(dxp, geometry.padding), dw, db


# ---------------------------------------------------------------------------------------------
# conv2d, the readable loop version: one output number at a time.


def conv2d_forward_loop(x, w, b=None, *, stride=1, padding=0, dilation=1, groups=1):
    """Same result as `conv2d_forward`, written as the definition. Slow; for teaching and checking."""
    _check_4d(x, w)
    n, c, h, wd = x.shape
    f, c_per_group, kh, kw = w.shape
    geometry = ConvGeometry.make((kh, kw), stride, padding, dilation, groups)
    _check_groups(c, f, groups)
    oh, ow = geometry.output_hw(h, wd)
    xp = pad_hw(x, geometry.padding)
    out = np.zeros((n, f, oh, ow), dtype=np.result_type(x, w))
    for where, (sample, out_channel, y, x_) in _windows(out.shape, c_per_group, geometry):
        out[sample, out_channel, y, x_] = np.sum(xp[where] * w[out_channel])
    if b is not None:
        out += b.reshape(1, f, 1, 1)
    return out, (x, w, b is not None, geometry)


def conv2d_backward_loop(dout, cache):
    """Returns (dx, dw, db) like `conv2d_backward`: each output number sends its gradient back to
    the window it read (dx) and to the kernel it used (dw)."""
    x, w, has_bias, geometry = cache
    xp = pad_hw(x, geometry.padding)
    dxp = np.zeros(xp.shape, dtype=np.result_type(dout, w))
    dw = np.zeros(w.shape, dtype=np.result_type(dout, x))
    for where, (sample, out_channel, y, x_) in _windows(dout.shape, w.shape[1], geometry):
        grad = dout[sample, out_channel, y, x_]
        dxp[where] += grad * w[out_channel]
        dw[out_channel] += grad * xp[where]
    db = dout.sum(axis=(0, 2, 3)) if has_bias else None
    return unpad_hw(dxp, geometry.padding), dw, db


def _windows(out_shape, c_per_group: int, geometry: ConvGeometry):
    """Every output number, in order: (the input window it reads: sample, its group's input channels,
    rows, columns), (sample, out_channel, y, x)."""
    n, f, oh, ow = out_shape
    for sample in range(n):
        for out_channel in range(f):
            group = out_channel // (f // geometry.groups)
            in_channels = slice(group * c_per_group, (group + 1) * c_per_group)
            for y in range(oh):
                for x in range(ow):
                    yield (sample, in_channels, _rows(y, geometry), _cols(x, geometry)), (sample, out_channel, y, x)


def _rows(y: int, geometry: ConvGeometry) -> slice:
    top, step = y * geometry.stride[0], geometry.dilation[0]
    return slice(top, top + step * (geometry.kernel[0] - 1) + 1, step)


def _cols(x: int, geometry: ConvGeometry) -> slice:
    left, step = x * geometry.stride[1], geometry.dilation[1]
    return slice(left, left + step * (geometry.kernel[1] - 1) + 1, step)


# ---------------------------------------------------------------------------------------------
# conv_transpose2d: the adjoint of conv2d (U-Net's up-convolution).


@dataclass
class ConvTranspose2dCache:
    geometry: ConvGeometry
    x: np.ndarray
    w: np.ndarray
    full_hw: tuple[int, int]
    has_bias: bool


def conv_transpose2d_forward(x, w, b=None, *, stride=1, padding=0, output_padding=0, dilation=1,
                             groups=1):
    """Transposed convolution, torch's semantics. w: (C_in, C_out/groups, KH, KW).

    Every input pixel scatters a copy of the kernel, scaled by its value, into the output at
    `stride` spacing; `padding` then crops that many pixels from each border, `output_padding`
    adds rows/columns at the bottom/right (to pick among the input sizes a strided conv maps to
    the same size). Output: (H - 1)*s - 2p + d*(k - 1) + output_padding + 1.
    """
    _check_4d(x, w)
    n, c_in, h, wd = x.shape
    _, c_out_per_group, kh, kw = w.shape
    geometry = ConvGeometry.make((kh, kw), stride, padding, dilation, groups)
    _check_groups(c_in, c_out_per_group * groups, groups)
    extra_h, extra_w = pair(output_padding, "output_padding")
    (strh, strw), (dh, dw) = geometry.stride, geometry.dilation
    full_hw = ((h - 1) * strh + dh * (kh - 1) + 1 + extra_h, (wd - 1) * strw + dw * (kw - 1) + 1 + extra_w)
    top, bottom, left, right = geometry.padding
    if full_hw[0] - top - bottom < 1 or full_hw[1] - left - right < 1:
        raise ValueError(f"padding {geometry.padding} crops the whole output {full_hw}")
    # (N, G, C_in/G, H*W) -> columns (N, G, C_out/G*KH*KW, H*W) -> image (N, C_out, full H, full W)
    x_groups = x.reshape(n, groups, c_in // groups, h * wd)
    w_matrix = w.reshape(groups, c_in // groups, c_out_per_group * kh * kw)
    cols = np.matmul(w_matrix.transpose(0, 2, 1), x_groups)
    c_out = c_out_per_group * groups
    full = col2im(cols.reshape(n, c_out, kh, kw, h, wd), full_hw, geometry)
    out = np.ascontiguousarray(unpad_hw(full, geometry.padding))
    if b is not None:
        out += b.reshape(1, c_out, 1, 1)
    return out, ConvTranspose2dCache(geometry, x, w, full_hw, b is not None)


def conv_transpose2d_backward(dout, cache: ConvTranspose2dCache):
    """Returns (dx, dw, db): dx is an ordinary strided convolution of the (un-cropped) dout."""
    geometry, x, w = cache.geometry, cache.x, cache.w
    n, c_in, h, wd = x.shape
    groups = geometry.groups
    _, c_out_per_group, kh, kw = w.shape
    top, _, left, _ = geometry.padding
    dfull = np.zeros(dout.shape[:2] + cache.full_hw, dtype=dout.dtype)
    dfull[:, :, top:top + dout.shape[2], left:left + dout.shape[3]] = dout
    dcols = np.ascontiguousarray(windows_view(dfull, geometry, (h, wd)))
    dcols = dcols.reshape(n, groups, c_out_per_group * kh * kw, h * wd)
    x_groups = x.reshape(n, groups, c_in // groups, h * wd)
    w_matrix = w.reshape(groups, c_in // groups, c_out_per_group * kh * kw)
    dx = np.matmul(w_matrix, dcols).reshape(x.shape)
    dw = np.matmul(x_groups, dcols.transpose(0, 1, 3, 2)).sum(axis=0).reshape(w.shape)
    db = dout.sum(axis=(0, 2, 3)) if cache.has_bias else None
    return dx, dw, db
