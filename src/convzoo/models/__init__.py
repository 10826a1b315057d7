"""Model families. Importing this package registers every family with the one registry."""

from . import lenet  # noqa: F401  (registers)
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
