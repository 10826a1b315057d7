"""Element-wise activations, dropout, the dense layer and the loss, with forward and backward."""

from __future__ import annotations

import numpy as np


def relu_forward(x):
    positive = x > 0
    return np.where(positive, x, 0).astype(x.dtype, copy=False), positive


def relu_backward(dout, positive):
    # The gradient at exactly 0 is taken as 0, as torch does.
    return np.where(positive, dout, 0).astype(dout.dtype, copy=False)


def sigmoid_forward(x):
    # exp of a non-positive number only, so neither branch overflows.
    e = np.exp(-np.abs(x))
    out = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
    return out, out


def sigmoid_backward(dout, out):
    return dout * out * (1 - out)


def tanh_forward(x):
    out = np.tanh(x)
    return out, out


def tanh_backward(dout, out):
    return dout * (1 - out * out)


def dropout_forward(x, p: float, *, training: bool, rng: np.random.Generator | None = None):
    """Inverted dropout: zero each value with probability p and scale the survivors by 1/(1-p),
    so inference is the identity. Returns (out, mask); mask is None when nothing was dropped."""
    if not 0 <= p <= 1:
        raise ValueError(f"dropout probability must be in [0, 1], got {p}")
    if not training or p == 0:
        return x, None
    if p == 1:
        mask = np.zeros_like(x)
    else:
        rng = np.random.default_rng() if rng is None else rng
        mask = (rng.random(x.shape) >= p).astype(x.dtype) / np.asarray(1 - p, dtype=x.dtype)
    return x * mask, mask


def dropout_backward(dout, mask):
    return dout if mask is None else dout * mask


def linear_forward(x, w, b=None):
    """y = x W^T + b with torch's layout W: (out_features, in_features); x: (..., in_features)."""
    out = x @ w.T
    if b is not None:
        out += b
    return out, (x, w, b is not None)


def linear_backward(dout, cache):
    """Returns (dx, dw, db); db is None without bias."""
    x, w, has_bias = cache
    dout_2d = dout.reshape(-1, w.shape[0])
    dw = dout_2d.T @ x.reshape(-1, w.shape[1])
    db = dout_2d.sum(axis=0) if has_bias else None
    return dout @ w, dw, db


def softmax_cross_entropy_forward(logits, labels, label_smoothing: float = 0.0):
    """Mean over the batch of -log softmax(logits)[label], torch's cross_entropy.

    logits: (N, K); labels: integer class indices (N,). With label smoothing the target is
    (1 - eps) * one_hot + eps / K, as in torch. Returns (loss, cache).
    """
    n, k = logits.shape
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    target = np.full_like(logits, label_smoothing / k)
    target[np.arange(n), labels] += 1 - label_smoothing
    loss = -(target * log_probs).sum() / n
    return loss, (np.exp(log_probs), target)


def softmax_cross_entropy_backward(dloss, cache):
    """Returns dlogits = dloss * (softmax - target) / N."""
    probs, target = cache
    return (probs - target) * (dloss / probs.shape[0])
