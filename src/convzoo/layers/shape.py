"""Spatial sizes computed from layer hyperparameters, so classifiers know their input at construction.

AlexNet, VGG and LeNet-style models flatten a feature map into a dense layer; its width depends on
the input size. Computing it from the layers (instead of a lazy layer or a dummy forward) keeps
parameter counts known when the model is built.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from torch import nn

from ..errors import ConvzooError

_SIZED = (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)


def _pair(value) -> tuple[int, int]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def _out(size: int, kernel: int, stride: int, padding: int, dilation: int, ceil_mode: bool) -> int:
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    out = (math.ceil(span / stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1  # torch drops a last window that would start in the right padding
    return out


def output_hw(layers: Iterable[nn.Module], hw: tuple[int, int]) -> tuple[int, int]:
    """(H, W) after `layers` (convs and pools change it, everything else keeps it).

    Raises ConvzooError when the input is too small for some layer: the user asked for it.
    """
    for layer in layers:
        if isinstance(layer, nn.Sequential):
            hw = output_hw(layer, hw)
            continue
        if not isinstance(layer, _SIZED):
            continue
        if isinstance(layer.padding, str):
            raise TypeError(f"{layer}: string padding is not supported here")
        kernel, stride, padding = _pair(layer.kernel_size), _pair(layer.stride), _pair(layer.padding)
        dilation = _pair(getattr(layer, "dilation", 1))
        ceil_mode = getattr(layer, "ceil_mode", False)
        new = tuple(_out(*args, ceil_mode) for args in zip(hw, kernel, stride, padding, dilation))
        if min(new) < 1:
            raise ConvzooError(f"input too small: {hw[0]}x{hw[1]} feature map cannot pass {layer}")
        hw = new
    return hw
