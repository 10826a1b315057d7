"""Blocks shared between model families (conv-BN-act, residual blocks, SE, shuffles, shapes, knobs,
local contrast normalisation)."""

from . import knobs
from .attention import SqueezeExcite
from .contrast import LocalContrastNorm
from .conv import INITS, ConvBNAct, he_init, initialise, kaiming_init, xavier_init
from .knobs import (
    Activation,
    LocalNorm,
    Pooling,
    activation,
    check_positive,
    dropout,
    optional_dropout,
    pool2d,
)
from .residual import BasicBlock, Bottleneck, ResidualBlock
from .shape import output_hw
from .shuffle import ChannelShuffle, channel_shuffle
from .whiten import whiten_conv, whitening_filters

__all__ = [
    "INITS", "Activation", "BasicBlock", "Bottleneck", "ChannelShuffle", "ConvBNAct", "LocalContrastNorm", "LocalNorm",
    "Pooling", "ResidualBlock", "SqueezeExcite", "activation", "channel_shuffle", "check_positive", "dropout", "he_init",
    "initialise", "kaiming_init", "knobs", "optional_dropout", "output_hw", "pool2d", "whiten_conv", "whitening_filters",
    "xavier_init",
]
