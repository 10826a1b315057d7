"""Blocks shared between model families (conv-BN-act, residual blocks, SE, shuffles, shapes)."""

from .attention import SqueezeExcite
from .conv import ConvBNAct, kaiming_init
from .residual import BasicBlock, Bottleneck, ResidualBlock
from .shape import output_hw
from .shuffle import ChannelShuffle, channel_shuffle

__all__ = [
    "BasicBlock", "Bottleneck", "ChannelShuffle", "ConvBNAct", "ResidualBlock", "SqueezeExcite",
    "channel_shuffle", "kaiming_init", "output_hw",
]
