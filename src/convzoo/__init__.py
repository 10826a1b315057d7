"""convzoo: the classic convolutional networks, from the convolution up."""

from .errors import ConvzooError
from .models import create_model, list_models, model_info

__version__ = "0.1.0"
__all__ = ["ConvzooError", "__version__", "create_model", "list_models", "model_info"]
