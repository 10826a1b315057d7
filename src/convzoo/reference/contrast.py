"""Local contrast normalisation in NumPy with forward and backward: Jarrett, Kavukcuoglu, Ranzato &
LeCun, "What is the Best Multi-Stage Architecture for Object Recognition?", ICCV 2009, sec. 2.

Subtractive, then divisive, both across and within maps, with one Gaussian window w:
    v = x - mean,     mean_jk  = sum_{i,p,q} w_pq x_{i,j+p,k+q}     (w sums to 1 over maps and window)
    y = v / max(c, s), s_jk^2  = sum_{i,p,q} w_pq v_{i,j+p,k+q}^2,  c = mean_jk s_jk (per image)
Sums over maps are means over the C channels (the window's weight per map is 1/C). Near the border
the window's weights are renormalised over the part of it inside the image (as Torch7's
SpatialContrastiveNormalization does), so the edges are not pulled towards zero. `s` is floored
at `eps`: a flat region (every map zero after a ReLU) is divided by eps, not by zero. The paper
gives the window's size (9x9), not its width: sigma = 2 pixels here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .conv import Conv2dCache, conv2d_backward, conv2d_forward


def gaussian_window(size: int = 9, sigma: float = 2.0) -> np.ndarray:
    """(size, size) Gaussian weights summing to one."""
    r = np.arange(size) - (size - 1) / 2
    g = np.exp(-r * r / (2 * sigma * sigma))
    w = np.outer(g, g)
    return w / w.sum()


@dataclass
class ContrastNormCache:
    v: np.ndarray  # x minus its local mean, (N, C, H, W)
    s: np.ndarray  # local standard deviation (floored at eps), (N, 1, H, W)
    c: np.ndarray  # per-image mean of s, (N, 1, 1, 1)
    var: np.ndarray  # local variance before the floor, (N, 1, H, W)
    coverage: np.ndarray  # window weight inside the image, (1, 1, H, W)
    mean_conv: Conv2dCache
    var_conv: Conv2dCache
    eps: float


def _smooth(z, window):
    """Gaussian-weighted sum over the window of a (N, 1, H, W) map, zero-padded."""
    return conv2d_forward(z, window[None, None], padding=window.shape[0] // 2)


def local_contrast_norm_forward(x, size: int = 9, sigma: float = 2.0, eps: float = 1e-4):
    """Returns (y, cache) for (N, C, H, W) `x`; `size` odd."""
    if size % 2 == 0:
        raise ValueError(f"the window size must be odd, got {size}")
    window = gaussian_window(size, sigma).astype(x.dtype)
    coverage, _ = _smooth(np.ones((1, 1) + x.shape[2:], x.dtype), window)
    smoothed, mean_conv = _smooth(x.mean(axis=1, keepdims=True), window)
    v = x - smoothed / coverage
    smoothed_sq, var_conv = _smooth((v * v).mean(axis=1, keepdims=True), window)
    var = smoothed_sq / coverage
    s = np.sqrt(np.maximum(var, eps * eps))
    c = s.mean(axis=(2, 3), keepdims=True)
    y = v / np.maximum(s, c)
    return y, ContrastNormCache(v, s, c, var, coverage, mean_conv, var_conv, eps)


def local_contrast_norm_backward(dout, cache: ContrastNormCache):
    """Returns dx. The denominator takes s where s >= c, else c, and c (a mean of s) sends its
    gradient back to every position's s in equal shares; s passes nothing where it was floored."""
    v, s, c = cache.v, cache.s, cache.c
    channels, (h, w) = v.shape[1], v.shape[2:]
    denom = np.maximum(s, c)
    dv = dout / denom
    ddenom = -(dout * v).sum(axis=1, keepdims=True) / (denom * denom)  # (N, 1, H, W)
    local = s >= c
    ds = np.where(local, ddenom, 0.0) + np.where(local, 0.0, ddenom).sum(axis=(2, 3), keepdims=True) / (h * w)
    dvar = np.where(cache.var > cache.eps ** 2, ds / (2 * s), 0.0)
    dsq = conv2d_backward(dvar / cache.coverage, cache.var_conv)[0]  # d/d mean_i(v^2)
    dv = dv + 2 * v * dsq / channels
    dmean = conv2d_backward(-dv.sum(axis=1, keepdims=True) / cache.coverage, cache.mean_conv)[0]
    return dv + dmean / channels
