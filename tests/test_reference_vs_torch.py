"""Property tests: every reference op, forward and every gradient, against torch float64 autograd.

Random shapes, strides, paddings, dilations and groups from hypothesis; each example is small, so
the loop conv2d runs on the same cases as the vectorised one.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from convzoo import reference as ref
from convzoo.layers import LocalContrastNorm

TOLERANCE = 1e-8
PROPERTY = settings(max_examples=30, deadline=None)


def rel_err(a, b, floor: float = 0.0) -> float:
    """max |a - b| over max(|a|, |b|, floor): one number per array, as llm.c prints it."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    scale = max(np.abs(a).max(initial=0), np.abs(b).max(initial=0), floor)
    return 0.0 if scale == 0 else float(np.abs(a - b).max() / scale)


def assert_close(mine, theirs, what="", floor: float = 0.0):
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else theirs
    err = rel_err(mine, theirs, floor)
    assert err < TOLERANCE, f"{what}: relative error {err:.3g}"


def leaf(a):
    return torch.tensor(a, dtype=torch.float64, requires_grad=True)


def backprop(out: torch.Tensor, dout: np.ndarray) -> None:
    out.backward(torch.tensor(dout))


seeds = st.integers(0, 2**32 - 1)
small = st.integers(1, 3)


@st.composite
def conv_cases(draw):
    groups = draw(small)
    c_in, c_out = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kernel, stride, dilation = (draw(small), draw(small)), (draw(small), draw(small)), (
        draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = draw(st.one_of(st.integers(0, 2), st.tuples(*[st.integers(0, 2)] * 4)))
    pads = (padding,) * 4 if isinstance(padding, int) else padding
    k_eff = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    h = max(1, k_eff[0] - pads[0] - pads[1]) + draw(st.integers(0, 4))
    w = max(1, k_eff[1] - pads[2] - pads[3]) + draw(st.integers(0, 4))
    return {"n": draw(st.integers(1, 2)), "c_in": c_in, "c_out": c_out, "h": h, "w": w,
            "kernel": kernel, "stride": stride, "padding": padding, "dilation": dilation,
            "groups": groups, "bias": draw(st.booleans())}


def torch_conv2d(x, w, b, case):
    pads = (case["padding"],) * 4 if isinstance(case["padding"], int) else case["padding"]
    top, bottom, left, right = pads
    x = F.pad(x, (left, right, top, bottom))  # torch's conv2d pads symmetrically only
    return F.conv2d(x, w, b, stride=case["stride"], dilation=case["dilation"], groups=case["groups"])


@PROPERTY
@given(conv_cases(), seeds)
def test_conv2d_matches_torch_and_loop(case, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((case["n"], case["c_in"], case["h"], case["w"]))
    w = rng.standard_normal((case["c_out"], case["c_in"] // case["groups"], *case["kernel"]))
    b = rng.standard_normal(case["c_out"]) if case["bias"] else None
    options = {k: case[k] for k in ("stride", "padding", "dilation", "groups")}
    out, cache = ref.conv2d_forward(x, w, b, **options)
    tx, tw, tb = leaf(x), leaf(w), None if b is None else leaf(b)
    expected = torch_conv2d(tx, tw, tb, case)
    assert_close(out, expected, "forward")
    dout = rng.standard_normal(out.shape)
    backprop(expected, dout)
    dx, dw, db = ref.conv2d_backward(dout, cache)
    assert_close(dx, tx.grad, "dx")
    assert_close(dw, tw.grad, "dw")
    if b is None:
        assert db is None
    else:
        assert_close(db, tb.grad, "db")

    loop_out, loop_cache = ref.conv2d_forward_loop(x, w, b, **options)
    assert_close(loop_out, out, "loop forward")
    for name, mine, vectorised in zip(("dx", "dw", "db"), ref.conv2d_backward_loop(dout, loop_cache),
                                      (dx, dw, db)):
        if vectorised is not None:
            assert_close(mine, vectorised, f"loop {name}")


@PROPERTY
@given(st.data(), seeds)
def test_conv_transpose2d_matches_torch(data, seed):
    draw = data.draw
    groups = draw(small)
    c_in, c_out = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kernel, stride = (draw(small), draw(small)), (draw(small), draw(small))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    # torch: output_padding must be smaller than the stride or the dilation
    output_padding = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
    h, w = draw(small), draw(small)
    full = [(n - 1) * s + d * (k - 1) + 1 + e
            for n, s, d, k, e in zip((h, w), stride, dilation, kernel, output_padding)]
    padding = tuple(draw(st.integers(0, (f - 1) // 2)) for f in full)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((draw(st.integers(1, 2)), c_in, h, w))
    weight = rng.standard_normal((c_in, c_out // groups, *kernel))
    b = rng.standard_normal(c_out) if draw(st.booleans()) else None
    options = {"stride": stride, "padding": padding, "output_padding": output_padding,
               "dilation": dilation, "groups": groups}
    out, cache = ref.conv_transpose2d_forward(x, weight, b, **options)
    tx, tw, tb = leaf(x), leaf(weight), None if b is None else leaf(b)
    expected = F.conv_transpose2d(tx, tw, tb, **options)
    assert_close(out, expected, "forward")
    dout = rng.standard_normal(out.shape)
    backprop(expected, dout)
    dx, dw, db = ref.conv_transpose2d_backward(dout, cache)
    assert_close(dx, tx.grad, "dx")
    assert_close(dw, tw.grad, "dw")
    if b is not None:
        assert_close(db, tb.grad, "db")


@st.composite
def pool_cases(draw, dilated: bool):
    kernel = (draw(small), draw(small))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) if dilated else (1, 1)
    stride = (draw(small), draw(small))
    k_eff = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    # At least one window of input, so no window lies wholly in the padding (which, with dilation,
    # could otherwise happen: torch and we then both give -inf, but there is no gradient to compare).
    h, w = (k + draw(st.integers(0, 4)) for k in k_eff)
    return {"shape": (draw(st.integers(1, 2)), draw(small), h, w), "kernel": kernel,
            "stride": stride, "padding": padding, "dilation": dilation}


@PROPERTY
@given(pool_cases(dilated=True), seeds)
def test_max_pool2d_matches_torch(case, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(case["shape"])
    out, cache = ref.max_pool2d_forward(x, case["kernel"], case["stride"], case["padding"], case["dilation"])
    tx = leaf(x)
    expected = F.max_pool2d(tx, case["kernel"], case["stride"], case["padding"], case["dilation"])
    assert_close(out, expected, "forward")
    dout = rng.standard_normal(out.shape)
    backprop(expected, dout)
    assert_close(ref.max_pool2d_backward(dout, cache), tx.grad, "dx")


@PROPERTY
@given(pool_cases(dilated=False), seeds)
def test_avg_pool2d_matches_torch(case, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(case["shape"])
    out, cache = ref.avg_pool2d_forward(x, case["kernel"], case["stride"], case["padding"])
    tx = leaf(x)
    expected = F.avg_pool2d(tx, case["kernel"], case["stride"], case["padding"])  # count_include_pad
    assert_close(out, expected, "forward")
    dout = rng.standard_normal(out.shape)
    backprop(expected, dout)
    assert_close(ref.avg_pool2d_backward(dout, cache), tx.grad, "dx")


@PROPERTY
@given(st.tuples(st.integers(1, 3), small, st.integers(1, 5), st.integers(1, 5)), seeds)
def test_global_avg_pool_matches_torch(shape, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    out, cache = ref.global_avg_pool_forward(x)
    tx = leaf(x)
    expected = F.adaptive_avg_pool2d(tx, 1).flatten(1)
    assert_close(out, expected, "forward")
    dout = rng.standard_normal(out.shape)
    backprop(expected, dout)
    assert_close(ref.global_avg_pool_backward(dout, cache), tx.grad, "dx")


@PROPERTY
@given(st.one_of(st.tuples(st.integers(2, 6), st.integers(1, 4)),
                 st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 4), st.integers(1, 4))),
       st.booleans(), st.floats(0.01, 0.9), seeds)
def test_batch_norm_matches_torch(shape, training, momentum, seed):
    rng = np.random.default_rng(seed)
    if training and np.prod(shape) // shape[1] < 2:
        shape = (2,) + shape[1:]  # batch statistics need two values per channel
    channels = shape[1]
    x = rng.standard_normal(shape) * 3 + 1
    gamma, beta = rng.standard_normal(channels), rng.standard_normal(channels)
    running_mean, running_var = rng.standard_normal(channels), rng.random(channels) + 0.5
    torch_mean, torch_var = torch.tensor(running_mean), torch.tensor(running_var)
    out, cache = ref.batch_norm_forward(x, gamma, beta, running_mean, running_var, training=training,
                                        momentum=momentum)
    tx, tg, tb = leaf(x), leaf(gamma), leaf(beta)
    expected = F.batch_norm(tx, torch_mean, torch_var, tg, tb, training=training, momentum=momentum)
    assert_close(out, expected, "forward")
    assert_close(running_mean, torch_mean, "running mean")
    assert_close(running_var, torch_var, "running var")
    dout = rng.standard_normal(out.shape)
    backprop(expected, dout)
    dx, dgamma, dbeta = ref.batch_norm_backward(dout, cache)
    assert_close(dx, tx.grad, "dx")
    assert_close(dgamma, tg.grad, "dgamma")
    assert_close(dbeta, tb.grad, "dbeta")


@PROPERTY
@given(st.integers(1, 7), st.one_of(st.tuples(st.integers(1, 2), st.integers(1, 8), st.integers(1, 4)),
                                    st.tuples(st.integers(1, 2), st.integers(1, 8), small, small)),
       st.floats(1e-4, 1.0), st.floats(0.5, 1.0), st.floats(0.5, 2.0), seeds)
def test_local_response_norm_matches_torch(size, shape, alpha, beta, k, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * 2
    out, cache = ref.local_response_norm_forward(x, size, alpha, beta, k)
    tx = leaf(x)
    expected = F.local_response_norm(tx, size, alpha, beta, k)
    assert_close(out, expected, "forward")
    dout = rng.standard_normal(out.shape)
    backprop(expected, dout)
    assert_close(ref.local_response_norm_backward(dout, cache), tx.grad, "dx")


@PROPERTY
# At least 3x3: on a 1x2 image the two positions' s are equal and max(c, s) has no derivative.
@given(shape=st.tuples(st.integers(1, 2), st.integers(1, 4), st.integers(3, 9), st.integers(3, 9)),
       size=st.sampled_from([1, 3, 5, 9]), sigma=st.floats(0.5, 3.0), flat=st.booleans(), seed=seeds)
def test_local_contrast_norm_layer_equals_the_reference(shape, size, sigma, flat, seed):
    """The model's layer (layers/contrast.py) against the NumPy op: forward and autograd's dx."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * 2
    if flat:  # a dead-ReLU region: every map zero in the lower half, where s meets its floor
        x[:, :, shape[2] // 2:] = 0
    out, cache = ref.local_contrast_norm_forward(x, size, sigma, eps=1e-3)
    tx = leaf(x)
    expected = LocalContrastNorm(size, sigma, eps=1e-3)(tx)
    assert_close(out, expected, "forward")
    dout = rng.standard_normal(out.shape)
    backprop(expected, dout)
    assert_close(ref.local_contrast_norm_backward(dout, cache), tx.grad, "dx")


@pytest.mark.parametrize("name, torch_fn", [("relu", torch.relu), ("sigmoid", torch.sigmoid),
                                            ("tanh", torch.tanh)])
@PROPERTY
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=4), scale=st.sampled_from([1.0, 30.0]),
       seed=seeds)
def test_activations_match_torch(name, torch_fn, shape, scale, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * scale  # scale 30 reaches sigmoid's saturated tails
    forward, backward = getattr(ref, f"{name}_forward"), getattr(ref, f"{name}_backward")
    out, cache = forward(x)
    tx = leaf(x)
    expected = torch_fn(tx)
    assert_close(out, expected, "forward")
    dout = rng.standard_normal(out.shape)
    backprop(expected, dout)
    # Where every input saturates, dx is 1 - tanh(x)^2 ~ 1e-12 computed from tanh(x) ~ 1, and one
    # rounding step of tanh is a large part of it in both libraries; so measure against |dout|,
    # the size dx has where the activation is not saturated.
    assert_close(backward(dout, cache), tx.grad, "dx", floor=np.abs(dout).max())


@PROPERTY
@given(st.lists(st.integers(1, 3), min_size=0, max_size=2), st.integers(1, 6), st.integers(1, 6),
       st.booleans(), seeds)
def test_linear_matches_torch(leading, d_in, d_out, bias, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((*leading, d_in))
    w = rng.standard_normal((d_out, d_in))
    b = rng.standard_normal(d_out) if bias else None
    out, cache = ref.linear_forward(x, w, b)
    tx, tw, tb = leaf(x), leaf(w), None if b is None else leaf(b)
    expected = F.linear(tx, tw, tb)
    assert_close(out, expected, "forward")
    dout = rng.standard_normal(out.shape)
    backprop(expected, dout)
    dx, dw, db = ref.linear_backward(dout, cache)
    assert_close(dx, tx.grad, "dx")
    assert_close(dw, tw.grad, "dw")
    if bias:
        assert_close(db, tb.grad, "db")


@PROPERTY
@given(st.integers(1, 6), st.integers(2, 8), st.sampled_from([0.0, 0.1, 0.3]),
       st.sampled_from([1.0, 50.0]), seeds)
def test_softmax_cross_entropy_matches_torch(n, classes, smoothing, scale, seed):
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((n, classes)) * scale  # scale 50 checks the log-sum-exp shift
    labels = rng.integers(0, classes, n)
    loss, cache = ref.softmax_cross_entropy_forward(logits, labels, smoothing)
    tl = leaf(logits)
    expected = F.cross_entropy(tl, torch.tensor(labels), label_smoothing=smoothing)
    assert_close(loss, expected, "loss")
    dloss = rng.standard_normal()
    backprop(expected, np.asarray(dloss))
    assert_close(ref.softmax_cross_entropy_backward(dloss, cache), tl.grad, "dlogits")


@PROPERTY
@given(st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4)), st.floats(0.0, 0.9), seeds)
def test_dropout_matches_torch_given_the_same_mask(shape, p, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    out, mask = ref.dropout_forward(x, p, training=True, rng=np.random.default_rng(seed))
    kept = (mask != 0) if mask is not None else np.ones(shape, bool)
    # torch draws its own mask; apply the same one the way torch's dropout does (x * keep / (1 - p)).
    tx = leaf(x)
    expected = tx * torch.tensor(kept) / (1 - p)
    assert_close(out, expected, "forward")
    dout = rng.standard_normal(shape)
    backprop(expected, dout)
    assert_close(ref.dropout_backward(dout, mask), tx.grad, "dx")


def test_dropout_statistics_and_inference():
    x = np.ones((200, 500))
    out, _mask = ref.dropout_forward(x, 0.3, training=True, rng=np.random.default_rng(0))
    assert abs((out == 0).mean() - 0.3) < 0.01
    assert abs(out.mean() - 1.0) < 0.02  # inverted dropout keeps the expectation
    assert set(np.unique(out)) == {0.0, 1 / 0.7}
    same, no_mask = ref.dropout_forward(x, 0.3, training=False)
    assert same is x and no_mask is None
    assert not ref.dropout_forward(x, 1.0, training=True)[0].any()
    with pytest.raises(ValueError):
        ref.dropout_forward(x, 1.5, training=True)
