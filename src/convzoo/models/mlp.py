"""Multilayer perceptrons: the baselines the convolutional networks are measured against.

`mlp` flattens the image and applies dense layers with ReLU; `hidden` sets their widths.
`mlp_784_800_10` is the 784-800-10 network of Simard, Steinkraus & Platt, "Best Practices for
Convolutional Neural Networks Applied to Visual Document Analysis", ICDAR 2003 (1.6% MNIST error
with cross-entropy, no distortions); it used sigmoid-type units, ReLU is used here as in d2l.
"""

from __future__ import annotations

import itertools

from torch import nn

from .registry import register_model

_MLP = {"family": "mlp", "input_size": (1, 28, 28), "num_classes": 10, "min_size": 1}


@register_model("mlp", params=203_530, paper="Rumelhart, Hinton & Williams, Learning representations by "
                "back-propagating errors", year=1986, note="one hidden layer of 256 ReLU units (d2l)", **_MLP)
@register_model("mlp_784_800_10", params=636_010, hidden=(800,), paper="Simard et al., Best Practices for "
                "Convolutional Neural Networks Applied to Visual Document Analysis", year=2003,
                note="ReLU instead of the paper's sigmoid-type units", **_MLP)
def mlp(num_classes: int, in_channels: int, input_size: tuple[int, int],
        hidden: tuple[int, ...] = (256,)) -> nn.Sequential:
    widths = [in_channels * input_size[0] * input_size[1], *hidden]
    layers: list[nn.Module] = [nn.Flatten()]
    for fan_in, fan_out in itertools.pairwise(widths):
        layers += [nn.Linear(fan_in, fan_out), nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(widths[-1], num_classes))
