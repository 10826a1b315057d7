"""Model families. Importing this package registers every family with the one registry."""

from . import (  # noqa: F401  (importing a family registers it)
    alexnet,
    densenet,
    fastnet,
    googlenet,
    inception_v3,
    lenet,
    lenet5_1998,
    mlp,
    mnist_convnet,
    mnist_table,
    nin,
    resnet,
    resnext,
    senet,
    shufflenet,
    shufflenet_v2,
    speech,
    unet,
    vgg,
)
from .registry import (
    ModelInfo,
    ModelOption,
    count_parameters,
    create_from_spec,
    create_model,
    list_models,
    model_info,
    model_options,
    parse_model_args,
    register_model,
)
from .torchvision_keys import load_torchvision_state_dict, torchvision_key_mapping
from .userspec import build_user_model, is_user_spec, rebuild_from_record

__all__ = [
    "ModelInfo", "ModelOption", "build_user_model", "count_parameters", "create_from_spec", "create_model",
    "is_user_spec", "list_models", "load_torchvision_state_dict", "model_info", "model_options",
    "parse_model_args", "rebuild_from_record", "register_model", "torchvision_key_mapping",
]
