"""Multilayer perceptrons: the baselines the convolutional networks are measured against.

`mlp` flattens the image and applies dense layers with ReLU; `hidden` sets their widths.
`mlp_6_layer` is Ciresan et al. 2010's 784-2500-2000-1500-1000-500-10 (0.35 % with elastic distortions).
`mlp_784_800_10` is the 784-800-10 network of Simard, Steinkraus & Platt, "Best Practices for
Convolutional Neural Networks Applied to Visual Document Analysis", ICDAR 2003 (1.6% MNIST error
with cross-entropy, no distortions); it used sigmoid-type units, ReLU is used here as in d2l
(`activation=sigmoid` or `tanh` for the paper's kind).
Options: `activation`, `dropout` after each hidden layer (0 = none, the default: neither paper
used it), `hidden` widths, `batch_norm` after each hidden dense layer (then without bias; not in
either paper). At the defaults no layer is added, so state_dict keys are as before.
"""

from __future__ import annotations

import itertools

from torch import nn

from ..layers import Activation, check_positive, knobs
from .registry import register_model

_MLP = {"family": "mlp", "input_size": (1, 28, 28), "num_classes": 10, "min_size": 1}


@register_model("mlp", params=203_530, paper="Rumelhart, Hinton & Williams, Learning representations by "
                "back-propagating errors", year=1986, note="one hidden layer of 256 ReLU units (d2l)", **_MLP)
@register_model("mlp_784_800_10", params=636_010, hidden=(800,), paper="Simard et al., Best Practices for "
                "Convolutional Neural Networks Applied to Visual Document Analysis", year=2003,
                note="ReLU instead of the paper's sigmoid-type units", **_MLP)
@register_model("mlp_6_layer", params=11_972_510, hidden=(2500, 2000, 1500, 1000, 500), paper="Ciresan, Meier, "
                "Gambardella & Schmidhuber, Deep, big, simple neural nets for handwritten digit recognition",
                year=2010, note="784-2500-2000-1500-1000-500-10; ReLU instead of the paper's scaled tanh", **_MLP)
def mlp(num_classes: int, in_channels: int, input_size: tuple[int, int], hidden: tuple[int, ...] = (256,),
        activation: Activation = "relu", dropout: float = 0.0, batch_norm: bool = False) -> nn.Sequential:
    """A multilayer perceptron on the flattened image.

    Args:
        hidden: hidden layer widths, e.g. 800 or 512,256 (d2l: 256; Simard et al.: 800)
        activation: after each hidden layer (Simard et al.: a sigmoid-type unit; d2l: relu)
        dropout: probability after each hidden layer; 0 = none
        batch_norm: BN after each hidden dense layer, which then has no bias
    """
    check_positive("hidden", *hidden)
    widths = [in_channels * input_size[0] * input_size[1], *hidden]
    layers: list[nn.Module] = [nn.Flatten()]
    for fan_in, fan_out in itertools.pairwise(widths):
        layers.append(nn.Linear(fan_in, fan_out, bias=not batch_norm))
        layers += [nn.BatchNorm1d(fan_out)] if batch_norm else []
        layers += [knobs.activation(activation), *knobs.optional_dropout(dropout)]
    return nn.Sequential(*layers, nn.Linear(widths[-1], num_classes))
