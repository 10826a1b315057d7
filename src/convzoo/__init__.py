"""convzoo: the classic convolutional networks, from the convolution up.

The top-level names are loaded on first use (PEP 562), so that `import convzoo.reference` (the
NumPy-only ops) works where torch is not installed and does not pay for importing it.
"""

from .errors import ConvzooError

__version__ = "0.1.0"
__all__ = ["ConvzooError", "__version__", "create_model", "explore", "list_models", "model_info"]
_FROM_MODELS = ("create_model", "list_models", "model_info")


def __getattr__(name: str):
    if name in _FROM_MODELS:
        from . import models

        return getattr(models, name)
    if name == "explore":
        from .serve.explore import explore

        return explore
    raise AttributeError(f"module 'convzoo' has no attribute {name!r}")
