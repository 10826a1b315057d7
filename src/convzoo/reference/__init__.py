"""convzoo.reference: the lectures' arithmetic from scratch, in NumPy only (never torch).

Every op is a pair: `<op>_forward(inputs..., options) -> (out, cache)` and
`<op>_backward(dout, cache) -> grads`. Ops with one input return its gradient; ops with
parameters return a tuple (dx, d<param>...) in the order of the forward's arguments, with None for
a bias that is absent. Layouts follow torch (N, C, H, W), so tests compare the two directly.

    from convzoo.reference import conv2d_forward, conv2d_backward
    out, cache = conv2d_forward(x, w, b, stride=2, padding=1)
    dx, dw, db = conv2d_backward(dout, cache)
"""

from .activations import (
    dropout_backward,
    dropout_forward,
    linear_backward,
    linear_forward,
    relu_backward,
    relu_forward,
    sigmoid_backward,
    sigmoid_forward,
    softmax_cross_entropy_backward,
    softmax_cross_entropy_forward,
    tanh_backward,
    tanh_forward,
)
from .contrast import gaussian_window, local_contrast_norm_backward, local_contrast_norm_forward
from .conv import (
    conv2d_backward,
    conv2d_backward_loop,
    conv2d_forward,
    conv2d_forward_loop,
    conv_transpose2d_backward,
    conv_transpose2d_forward,
    corr2d_backward,
    corr2d_forward,
)
from .kernels import KERNELS, kernel_names
from .net import train_numpy
from .norm import (
    batch_norm_backward,
    batch_norm_forward,
    local_response_norm_backward,
    local_response_norm_forward,
)
from .pool import (
    avg_pool2d_backward,
    avg_pool2d_forward,
    global_avg_pool_backward,
    global_avg_pool_forward,
    max_pool2d_backward,
    max_pool2d_forward,
)
from .shapes import ReceptiveField, conv_output_shape, conv_params, receptive_field

__all__ = [
    "KERNELS", "ReceptiveField",
    "avg_pool2d_backward", "avg_pool2d_forward",
    "batch_norm_backward", "batch_norm_forward",
    "conv2d_backward", "conv2d_backward_loop", "conv2d_forward", "conv2d_forward_loop",
    "conv_output_shape", "conv_params",
    "conv_transpose2d_backward", "conv_transpose2d_forward",
    "corr2d_backward", "corr2d_forward",
    "dropout_backward", "dropout_forward",
    "gaussian_window",
    "global_avg_pool_backward", "global_avg_pool_forward",
    "kernel_names",
    "linear_backward", "linear_forward",
    "local_contrast_norm_backward", "local_contrast_norm_forward",
    "local_response_norm_backward", "local_response_norm_forward",
    "max_pool2d_backward", "max_pool2d_forward",
    "receptive_field",
    "relu_backward", "relu_forward",
    "sigmoid_backward", "sigmoid_forward",
    "softmax_cross_entropy_backward", "softmax_cross_entropy_forward",
    "tanh_backward", "tanh_forward",
    "train_numpy",
]

