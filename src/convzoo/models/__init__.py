"""Model families. Importing this package registers every family with the one registry."""

from . import (  # noqa: F401  (importing a family registers it)
    alexnet,
    densenet,
    fastnet,
    googlenet,
    lenet,
    lenet5_1998,
    mlp,
    nin,
    resnet,
    resnext,
    senet,
    shufflenet,
    shufflenet_v2,
    unet,
    vgg,
)
from .registry import (
    ModelInfo,
    count_parameters,
    create_from_spec,
    create_model,
    list_models,
    model_info,
    register_model,
)

__all__ = [
    "ModelInfo", "count_parameters", "create_from_spec", "create_model", "list_models",
    "model_info", "register_model",
]
