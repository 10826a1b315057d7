"""Central finite differences against every backward of convzoo.reference (small shapes, float64).

Independent of torch: the derivative of sum(forward(inputs) * dout) with respect to each input,
one number at a time, must equal what backward returns.
"""

from __future__ import annotations

import numpy as np
import pytest

from convzoo import reference as ref

STEP = 1e-6
TOLERANCE = 1e-6  # central differences are accurate to ~STEP**2 plus rounding/STEP


def rel_err(a, b) -> float:
    scale = max(np.abs(a).max(initial=0), np.abs(b).max(initial=0))
    return 0.0 if scale == 0 else float(np.abs(a - b).max() / scale)


def numeric_gradient(objective, array: np.ndarray) -> np.ndarray:
    grad = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        original = array[index]
        array[index] = original + STEP
        plus = objective()
        array[index] = original - STEP
        minus = objective()
        array[index] = original
        grad[index] = (plus - minus) / (2 * STEP)
    return grad


def _cases():
    """name -> (inputs, forward(**inputs) -> (out, cache), backward(dout, cache) -> grads in the
    order of `inputs`)."""
    rng = np.random.default_rng(7)
    r = rng.standard_normal

    def one(backward):  # ops with a single input return the gradient itself
        return lambda dout, cache: (backward(dout, cache),)

    conv = {"stride": (2, 1), "padding": (1, 0, 2, 1), "dilation": (1, 2), "groups": 2}
    transpose = {"stride": 2, "padding": 1, "output_padding": 1}
    mask_seed = 3
    return {
        "corr2d": ({"x": r((4, 5)), "k": r((2, 3))}, ref.corr2d_forward, ref.corr2d_backward),
        "conv2d": ({"x": r((2, 4, 5, 6)), "w": r((4, 2, 2, 3)), "b": r(4)},
                   lambda x, w, b: ref.conv2d_forward(x, w, b, **conv), ref.conv2d_backward),
        "conv2d_loop": ({"x": r((1, 2, 4, 4)), "w": r((2, 2, 3, 2)), "b": r(2)},
                        lambda x, w, b: ref.conv2d_forward_loop(x, w, b, stride=(1, 2), padding=1),
                        ref.conv2d_backward_loop),
        "conv_transpose2d": ({"x": r((1, 2, 3, 3)), "w": r((2, 3, 2, 2)), "b": r(3)},
                             lambda x, w, b: ref.conv_transpose2d_forward(x, w, b, **transpose),
                             ref.conv_transpose2d_backward),
        "max_pool2d": ({"x": r((1, 2, 5, 5))}, lambda x: ref.max_pool2d_forward(x, 3, 2, 1),
                       one(ref.max_pool2d_backward)),
        "avg_pool2d": ({"x": r((1, 2, 5, 5))}, lambda x: ref.avg_pool2d_forward(x, 3, 2, 1),
                       one(ref.avg_pool2d_backward)),
        "global_avg_pool": ({"x": r((2, 3, 3, 2))}, ref.global_avg_pool_forward,
                            one(ref.global_avg_pool_backward)),
        "batch_norm_train_nchw": ({"x": r((3, 2, 2, 2)), "gamma": r(2), "beta": r(2)},
                                  lambda x, gamma, beta: ref.batch_norm_forward(
                                      x, gamma, beta, training=True),
                                  ref.batch_norm_backward),
        "batch_norm_eval_nd": ({"x": r((4, 3)), "gamma": r(3), "beta": r(3)},
                               lambda x, gamma, beta: ref.batch_norm_forward(
                                   x, gamma, beta, np.full(3, 0.3), np.full(3, 2.0), training=False),
                               ref.batch_norm_backward),
        "local_response_norm": ({"x": r((2, 5, 2, 2))},
                                lambda x: ref.local_response_norm_forward(x, 3, alpha=0.5, beta=0.75, k=2.0),
                                one(ref.local_response_norm_backward)),
        # Both sides of max(c, s) occur at these shapes; the second case's flat zero half (a dead
        # ReLU region) also exercises the floor on s.
        "local_contrast_norm": ({"x": r((2, 3, 6, 5))},
                                lambda x: ref.local_contrast_norm_forward(x, 5, sigma=1.5),
                                one(ref.local_contrast_norm_backward)),
        "local_contrast_norm_flat": ({"x": np.concatenate([r((1, 2, 4, 7)), np.zeros((1, 2, 4, 7))], axis=2)},
                                     lambda x: ref.local_contrast_norm_forward(x, 3, sigma=1.0, eps=0.05),
                                     one(ref.local_contrast_norm_backward)),
        "relu": ({"x": r((3, 4))}, ref.relu_forward, one(ref.relu_backward)),
        "sigmoid": ({"x": r((3, 4)) * 3}, ref.sigmoid_forward, one(ref.sigmoid_backward)),
        "tanh": ({"x": r((3, 4))}, ref.tanh_forward, one(ref.tanh_backward)),
        "dropout": ({"x": r((3, 4))},
                    lambda x: ref.dropout_forward(x, 0.4, training=True,
                                                  rng=np.random.default_rng(mask_seed)),
                    one(ref.dropout_backward)),
        "linear": ({"x": r((3, 4)), "w": r((2, 4)), "b": r(2)}, ref.linear_forward, ref.linear_backward),
        "softmax_cross_entropy": ({"logits": r((4, 5))},
                                  lambda logits: ref.softmax_cross_entropy_forward(
                                      logits, np.array([0, 4, 2, 2]), label_smoothing=0.1),
                                  one(ref.softmax_cross_entropy_backward)),
    }


CASES = _cases()


@pytest.mark.parametrize("name", list(CASES))
def test_backward_matches_finite_differences(name):
    inputs, forward, backward = CASES[name]
    inputs = {key: value.copy() for key, value in inputs.items()}
    out, cache = forward(**inputs)
    dout = np.random.default_rng(11).standard_normal(np.shape(out))
    grads = backward(dout, cache)
    assert len(grads) == len(inputs)
    for (key, array), grad in zip(inputs.items(), grads):
        expected = numeric_gradient(lambda: float(np.sum(forward(**inputs)[0] * dout)), array)
        err = rel_err(grad, expected)
        assert err < TOLERANCE, f"{name} d{key}: relative error {err:.3g}"
        assert np.abs(expected).max() > 0, f"{name} d{key}: the check saw no gradient at all"
