"""Normalisation in NumPy with forward and backward: batch norm and local response norm."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class BatchNormCache:
    x_hat: np.ndarray  # normalised input
    inv_std: np.ndarray  # broadcastable to x
    gamma: np.ndarray  # broadcastable to x
    axes: tuple
    training: bool


def _per_channel_shape(x) -> tuple:
    if x.ndim not in (2, 4):
        raise ValueError(f"batch_norm expects (N, D) or (N, C, H, W), got shape {x.shape}")
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


def batch_norm_forward(x, gamma, beta, running_mean=None, running_var=None, *, training: bool,
                       momentum: float = 0.1, eps: float = 1e-5):
    """Batch normalisation over N (and H, W) per channel. Returns (out, cache).

    Training: normalise with the batch's mean and biased variance, and update `running_mean` and
    `running_var` in place as torch does: running = (1 - momentum)*running + momentum*batch, with
    the unbiased variance. Inference: normalise with the running statistics.
    """
    shape = _per_channel_shape(x)
    axes = (0,) if x.ndim == 2 else (0, 2, 3)
    if training:
        mean = x.mean(axis=axes)
        centred = x - mean.reshape(shape)
        var = np.mean(centred * centred, axis=axes)
        count = x.size // x.shape[1]
        if count < 2:
            raise ValueError("batch_norm in training needs more than one value per channel")
        if running_mean is not None:
            running_mean *= 1 - momentum
            running_mean += momentum * mean
        if running_var is not None:
            running_var *= 1 - momentum
            running_var += momentum * var * (count / (count - 1))
    else:
        centred = x - running_mean.reshape(shape)
        var = running_var
    inv_std = (1.0 / np.sqrt(var + eps)).astype(x.dtype).reshape(shape)
    x_hat = centred * inv_std
    gamma_b = gamma.reshape(shape)
    out = x_hat * gamma_b + beta.reshape(shape)
    return out, BatchNormCache(x_hat, inv_std, gamma_b, axes, training)


def batch_norm_backward(dout, cache: BatchNormCache):
    """Returns (dx, dgamma, dbeta). In training the batch statistics depend on every input, which
    gives the two extra terms; at inference the statistics are constants."""
    x_hat, axes = cache.x_hat, cache.axes
    dbeta = dout.sum(axis=axes)
    dgamma = (dout * x_hat).sum(axis=axes)
    dx_hat = dout * cache.gamma
    if not cache.training:
        return dx_hat * cache.inv_std, dgamma, dbeta
    count = dout.size // dout.shape[1]
    shape = cache.inv_std.shape
    # dx = inv_std * (dx_hat - mean(dx_hat) - x_hat * mean(dx_hat * x_hat)), means per channel
    mean_dx_hat = (dbeta.reshape(shape) * cache.gamma) / count
    mean_dx_hat_x_hat = (dgamma.reshape(shape) * cache.gamma) / count
    dx = (dx_hat - mean_dx_hat - x_hat * mean_dx_hat_x_hat) * cache.inv_std
    return dx, dgamma, dbeta


def _channel_window_sum(a, before: int, after: int):
    """result[:, c] = sum of a[:, c - before .. c + after] along axis 1, zeros outside."""
    channels = a.shape[1]
    padded = np.pad(a, [(0, 0), (before, after)] + [(0, 0)] * (a.ndim - 2))
    total = np.zeros_like(a)
    for offset in range(before + after + 1):
        total += padded[:, offset:offset + channels]
    return total


def local_response_norm_forward(x, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0):
    """AlexNet's LRN, torch's formula: b_c = a_c / (k + alpha/size * sum a_c'^2)^beta over the
    `size` neighbouring channels c' in [c - size//2, c + (size-1)//2]. Returns (out, cache)."""
    scale = k + (alpha / size) * _channel_window_sum(x * x, size // 2, (size - 1) // 2)
    out = x * scale ** -beta
    return out, (x, scale, size, alpha, beta)


def local_response_norm_backward(dout, cache):
    """Returns dx. Channel c feeds the scale of every channel whose window contains it, which is
    the mirrored window [c - (size-1)//2, c + size//2]."""
    x, scale, size, alpha, beta = cache
    scale_pow = scale ** -beta
    through_scale = _channel_window_sum(dout * x * scale_pow / scale, (size - 1) // 2, size // 2)
    return dout * scale_pow - (2 * alpha * beta / size) * x * through_scale
