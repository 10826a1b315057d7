"""SENet: Hu et al., "Squeeze-and-Excitation Networks", CVPR 2018.

A squeeze-and-excitation gate (reduction 16) on every residual branch before the addition; SE is an
option of the ResNet blocks (`se_reduction`), so SE-ResNet is registered on `resnet`. The gate's
two dense layers are 1x1 convs with biases, as in the reference and timm implementations; with
v1.5 strides (the paper strides the first 1x1 conv: `version="v1"`, same count) the count is
28,088,024, the paper's "28.1M". Below 64 pixels the stem is the ResNets' 3x3 stride-1 stem.
"""

from __future__ import annotations

from .registry import register_model
from .resnet import resnet

register_model("se_resnet50", family="senet", paper="Hu et al., Squeeze-and-Excitation Networks", year=2018,
               input_size=(3, 224, 224), num_classes=1000, params=28_088_024, min_size=8,
               small_input_stem=True, block="bottleneck", depths=(3, 4, 6, 3), se_reduction=16)(resnet)
