"""The lectures' worked examples, exactly, on convzoo.reference."""

from __future__ import annotations

import numpy as np
import pytest

from convzoo.reference import (
    KERNELS,
    conv2d_backward,
    conv2d_forward,
    conv_output_shape,
    conv_params,
    corr2d_backward,
    corr2d_forward,
    max_pool2d_forward,
    receptive_field,
)

X = np.arange(9.0).reshape(3, 3)
K = np.array([[0.0, 1.0], [2.0, 3.0]])


def as_nchw(a):
    return np.asarray(a, dtype=np.float64).reshape(1, 1, *np.shape(a))


def test_corr2d():
    out, _ = corr2d_forward(X, K)
    np.testing.assert_array_equal(out, [[19, 25], [37, 43]])


def test_conv2d_padding_1():
    out, _ = conv2d_forward(as_nchw(X), as_nchw(K), padding=1)
    np.testing.assert_array_equal(out[0, 0], [[0, 3, 8, 4], [9, 19, 25, 10], [21, 37, 43, 16], [6, 7, 8, 0]])


def test_conv2d_padding_1_strides_3_2():
    out, _ = conv2d_forward(as_nchw(X), as_nchw(K), padding=1, stride=(3, 2))
    np.testing.assert_array_equal(out[0, 0], [[0, 8], [6, 8]])


def test_conv2d_two_input_channels():
    x = np.stack([np.arange(9.0), np.arange(1.0, 10.0)]).reshape(1, 2, 3, 3)
    w = np.stack([K, K + 1]).reshape(1, 2, 2, 2)  # [[0,1],[2,3]] and [[1,2],[3,4]]
    out, _ = conv2d_forward(x, w)
    np.testing.assert_array_equal(out[0, 0], [[56, 72], [104, 120]])


def test_max_pool_2x2_stride_1():
    out, _ = max_pool2d_forward(as_nchw(X), 2, stride=1)
    np.testing.assert_array_equal(out[0, 0], [[4, 5], [7, 8]])


def test_cartesian_axes_example():
    # Reading that produces the lecture's numbers: the "vertical" filter is the row [-1/2, 1, -1/2]
    # repeated on all three rows (its 1s form a vertical line, so it answers vertical lines), the
    # "horizontal" filter is its transpose, applied by cross-correlation (no flip), no padding,
    # stride 1. The image's vertical lines are its columns of 1s; its horizontal line is row 2.
    image = as_nchw([[0, 1, 0, 1], [0, 1, 0, 1], [1, 1, 1, 1], [0, -2, 0, -2]])
    vertical = np.tile([-0.5, 1.0, -0.5], (3, 1))
    horizontal = vertical.T
    vertical_map, _ = conv2d_forward(image, as_nchw(vertical))
    horizontal_map, _ = conv2d_forward(image, as_nchw(horizontal))
    np.testing.assert_array_equal(vertical_map[0, 0], [[2, -2], [-1, 1]])
    np.testing.assert_array_equal(horizontal_map[0, 0], [[-1, -0.5], [3.5, 4]])
    assert max_pool2d_forward(vertical_map, 2)[0].item() == 2
    assert max_pool2d_forward(horizontal_map, 2)[0].item() == 4


def test_output_shape_lecture_7x7_3x3():
    assert conv_output_shape(7, 3, 0, 1) == 5
    assert conv_output_shape(7, 3, 0, 2) == 3
    with pytest.raises(ValueError, match="does not fit"):
        conv_output_shape(7, 3, 0, 3, strict=True)
    assert conv_output_shape(7, 3, 0, 2, strict=True) == 3
    # Without strict, the floor of torch: the last column is never visited.
    assert conv_output_shape(7, 3, 0, 3) == 2
    assert conv2d_forward(np.zeros((1, 1, 7, 7)), np.zeros((1, 1, 3, 3)), stride=3)[0].shape == (1, 1, 2, 2)


def test_output_shape_padding_dilation_and_too_small():
    assert conv_output_shape(28, 5, 2) == 28  # LeNet's first conv keeps the size
    assert conv_output_shape(7, 3, (1, 0), 1) == 6  # padding given per side
    assert conv_output_shape(7, 3, 0, 1, d=2) == 3  # effective kernel 5
    assert conv_output_shape(224, 11, 2, 4) == 55  # AlexNet's first conv (torchvision padding)
    with pytest.raises(ValueError, match="does not fit"):
        conv_output_shape(2, 3)
    with pytest.raises(ValueError, match="does not fit"):
        conv_output_shape(4, 3, 0, 1, d=2)


def test_parameter_count():
    f, d1, k = 5, 3, 8  # (F*F*D1)*K + K
    assert conv_params(d1, k, f) == (f * f * d1) * k + k == 608
    assert conv_params(3, 96, 11) == 34_944  # AlexNet conv1
    assert conv_params(64, 64, 3, bias=False) == 36_864  # a ResNet 3x3
    assert conv_params(128, 128, 3, groups=32, bias=False) == 4_608  # ResNeXt's grouped 3x3
    with pytest.raises(ValueError):
        conv_params(3, 8, 3, groups=2)


def test_receptive_field_formula():
    vgg_block = [(3, 1, 1), (3, 1, 1), (2, 2, 0)]
    assert [tuple(r) for r in receptive_field(vgg_block)] == [(3, 1, 0.0), (5, 1, 0.0), (6, 2, 0.5)]
    alexnet_conv1 = receptive_field([(11, 4, 0)])[0]
    assert (alexnet_conv1.rf, alexnet_conv1.jump, alexnet_conv1.start) == (11, 4, 5.0)
    assert receptive_field([(3, 1, 0, 2)])[0].rf == 5  # dilation 2


def test_receptive_field_matches_backprop():
    # Back-propagate from output unit (0, 0) through all-ones kernels: the inputs that get a
    # gradient are exactly its receptive field, starting where the formula says.
    layers = [(3, 1, 0), (3, 2, 0, 2), (2, 2, 0), (3, 1, 0)]
    x = np.ones((1, 1, 40, 40))
    caches = []
    for k, s, _, *d in layers:
        x, cache = conv2d_forward(x, np.ones((1, 1, k, k)), stride=s, dilation=d[0] if d else 1)
        caches.append(cache)
    grad = np.zeros_like(x)
    grad[0, 0, 0, 0] = 1
    for cache in reversed(caches):
        grad, _, _ = conv2d_backward(grad, cache)
    touched = np.flatnonzero(grad[0, 0].any(axis=0))
    last = receptive_field(layers)[-1]
    assert touched[-1] - touched[0] + 1 == last.rf
    assert (touched[0] + touched[-1]) / 2 == last.start


def test_learn_edge_kernel_by_gradient_descent():
    # The lecture's image: white, with a black band; its edge map under [1, -1] is +-1 at the band.
    image = np.ones((6, 8))
    image[:, 2:6] = 0
    rng = np.random.default_rng(0)
    image = np.concatenate([image, rng.random((6, 8))])  # texture so both taps are well determined
    true_kernel = np.array([[1.0, -1.0]])
    edges, _ = corr2d_forward(image, true_kernel)
    kernel = rng.standard_normal((1, 2))
    for _ in range(300):
        predicted, cache = corr2d_forward(image, kernel)
        # d/dK of the mean squared error
        _, dkernel = corr2d_backward(2 * (predicted - edges) / edges.size, cache)
        kernel -= 0.5 * dkernel
    np.testing.assert_allclose(kernel, true_kernel, atol=1e-3)


def test_kernels_table():
    assert set(KERNELS) >= {"edge", "sharpen", "gaussian_blur", "line_horizontal", "line_vertical",
                            "line_45", "line_135"}
    for kernel in KERNELS.values():
        assert kernel.weights.shape == (3, 3)
    assert KERNELS["gaussian_blur"].weights.sum() == 1  # a blur keeps the brightness
    assert KERNELS["sharpen"].weights.sum() == 1
    flat = np.full((1, 1, 5, 5), 7.0)
    for name in ["edge", "line_horizontal", "line_vertical", "line_45", "line_135"]:
        assert KERNELS[name].weights.sum() == 0  # a detector ignores flat regions
        assert not conv2d_forward(flat, as_nchw(KERNELS[name].weights))[0].any()
    # Each line detector answers its own line most strongly.
    lines = {"line_horizontal": np.eye(3)[[1, 1, 1]].T, "line_vertical": np.eye(3)[[1, 1, 1]],
             "line_45": np.fliplr(np.eye(3)), "line_135": np.eye(3)}
    for name, line in lines.items():
        responses = {other: float((KERNELS[other].weights * line).sum()) for other in lines}
        assert max(responses, key=responses.get) == name, responses
