"""Conv → BatchNorm → activation, the unit most post-2015 networks are made of."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn


class ConvBNAct(nn.Sequential):
    """`Conv2d` → `BatchNorm2d` → `act`, padded to keep the size at stride 1 by default.

    With `bn=False` the conv keeps its bias instead (the pre-2015 layout, e.g. GoogLeNet as
    published); with BN the bias is dropped because BN's shift replaces it. `act=None` ends at
    the norm (the last layer of a residual branch). A (height, width) kernel is padded per axis.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int],
                 stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] | None = None,
                 groups: int = 1, bn: bool = True, act: Callable[[], nn.Module] | None = nn.ReLU):
        if padding is None:
            padding = tuple(k // 2 for k in kernel_size) if isinstance(kernel_size, tuple) else kernel_size // 2
        layers = [nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, groups=groups,
                            bias=not bn)]
        if bn:
            layers.append(nn.BatchNorm2d(out_channels))
        if act is not None:
            layers.append(act())
        super().__init__(*layers)
        self.out_channels = out_channels


def kaiming_init(model: nn.Module, mode: str = "fan_out") -> nn.Module:
    """He initialisation for convs (ReLU gain) and zero biases: deep ReLU stacks then keep their
    activation scale (He et al., 2015). Fan-out as in the torchvision models; U-Net's paper uses
    fan-in."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode=mode, nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return model


def xavier_init(model: nn.Module) -> nn.Module:
    """d2l's `init_weights`: Xavier-uniform weights for every Linear and Conv2d (exactly those types,
    as d2l tests `type(m) in [nn.Linear, nn.Conv2d]`); biases keep their builder's values."""
    for module in model.modules():
        if type(module) in (nn.Linear, nn.Conv2d):
            nn.init.xavier_uniform_(module.weight)
    return model


def he_init(model: nn.Module) -> nn.Module:
    """He et al. (2015) for every Conv2d and Linear: normal weights with variance 2 / fan-in (the
    ReLU gain), zero biases, so a deep ReLU stack keeps its forward signal's scale at any depth."""
    for module in model.modules():
        if isinstance(module, (nn.Linear, nn.Conv2d)):
            nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
            if module.bias is not None:
                nn.init.zeros_(module.bias)
    return model


INITS = {"builder": lambda model: model, "xavier": xavier_init, "he": he_init}


def initialise(model: nn.Module, init: str) -> nn.Module:
    """`model` re-initialised by the scheme `init` names (one of INITS; "builder" keeps its own)."""
    return INITS[init](model)
