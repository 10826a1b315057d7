"""ResNeXt: Xie et al., "Aggregated Residual Transformations for Deep Neural Networks", CVPR 2017.

Not a new network: the ResNet bottleneck with a grouped 3x3 conv ("cardinality" = `groups`,
"bottleneck width" = `base_width` channels per group), so it is registered on `resnet`.
Names follow torchvision: `resnext50_32x4d` = 32 groups of 4 channels in the first stage.
Like the ResNets here: v1.5 strides, projection shortcuts, and a 3x3 stride-1 stem below 64 pixels.
"""

from __future__ import annotations

from .registry import register_model
from .resnet import resnet

_RESNEXT = {
    "family": "resnext", "paper": "Xie et al., Aggregated Residual Transformations for Deep Neural Networks",
    "year": 2017, "input_size": (3, 224, 224), "num_classes": 1000, "min_size": 8, "small_input_stem": True,
    "block": "bottleneck",
}

register_model("resnext50_32x4d", params=25_028_904, depths=(3, 4, 6, 3), groups=32, base_width=4,
               **_RESNEXT)(resnet)
register_model("resnext101_32x8d", params=88_791_336, depths=(3, 4, 23, 3), groups=32, base_width=8,
               **_RESNEXT)(resnet)
