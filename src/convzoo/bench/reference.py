"""`convzoo bench reference`: NumPy conv2d (vectorised and loop) next to torch's, same run.

For each layer, the vectorised NumPy conv2d and torch's fp32 conv2d are timed alternately, forward
and backward, and the medians reported with their ratio. The loop version is timed on one example,
once, and multiplied by the batch size (it is too slow for more; it is linear in the batch).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..reference import conv2d_backward, conv2d_backward_loop, conv2d_forward, conv2d_forward_loop
from ..timing import alternating_medians, seconds_of


@dataclass(frozen=True)
class Layer:
    name: str
    batch: int
    c_in: int
    c_out: int
    kernel: int
    padding: int
    size: int

    def describe(self) -> str:
        return (f"{self.c_in}->{self.c_out} {self.kernel}x{self.kernel} pad {self.padding}, "
                f"{self.size}x{self.size}, batch {self.batch}")


LAYERS = [Layer("lenet", 256, 6, 16, 5, 0, 14), Layer("resnet", 8, 64, 64, 3, 1, 56)]
QUICK_LAYERS = [Layer("tiny", 4, 3, 4, 3, 1, 8)]


@dataclass
class PassTiming:
    layer: str
    pass_name: str  # forward | backward
    numpy_ms: float
    torch_ms: float
    loop_ms: float  # one example, once, times the batch

    def to_dict(self) -> dict:
        return {**asdict(self), "numpy_over_torch": self.numpy_ms / self.torch_ms,
                "loop_over_numpy": self.loop_ms / self.numpy_ms}


def measure_layer(layer: Layer, repeats: int) -> list[PassTiming]:
    """Forward and backward of one layer: NumPy (vectorised) and torch alternately, medians of
    `repeats` rounds; the loop version once on one example."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((layer.batch, layer.c_in, layer.size, layer.size), dtype=np.float32)
    w = rng.standard_normal((layer.c_out, layer.c_in, layer.kernel, layer.kernel), dtype=np.float32)
    b = rng.standard_normal(layer.c_out, dtype=np.float32)
    out, cache = conv2d_forward(x, w, b, padding=layer.padding)
    dout = rng.standard_normal(out.shape, dtype=np.float32)
    tx, tw, tb = (torch.from_numpy(a.copy()).requires_grad_() for a in (x, w, b))
    tdout = torch.from_numpy(dout)
    t_out = F.conv2d(tx, tw, tb, padding=layer.padding)
    medians = alternating_medians({
        "numpy forward": lambda: conv2d_forward(x, w, b, padding=layer.padding),
        "torch forward": lambda: F.conv2d(tx, tw, tb, padding=layer.padding),
        "numpy backward": lambda: conv2d_backward(dout, cache),
        "torch backward": lambda: torch.autograd.grad(t_out, (tx, tw, tb), tdout, retain_graph=True),
    }, repeats)
    one = slice(0, 1)
    loop_cache = []
    loop_forward = seconds_of(lambda: loop_cache.append(
        conv2d_forward_loop(x[one], w, b, padding=layer.padding)[1])) * layer.batch
    loop_backward = seconds_of(lambda: conv2d_backward_loop(dout[one], loop_cache[0])) * layer.batch
    return [PassTiming(layer.name, name, medians[f"numpy {name}"] * 1e3, medians[f"torch {name}"] * 1e3, loop * 1e3)
            for name, loop in (("forward", loop_forward), ("backward", loop_backward))]
