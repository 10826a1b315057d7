"""Multiply-accumulate counts (MACs) of a forward pass, from torch's own FLOP counter.

`torch.utils.flop_counter.FlopCounterMode` counts convolutions (grouped and transposed included),
linear layers and matrix products, two FLOPs per multiply-add; MACs = FLOPs / 2, the unit papers
call "FLOPs" or "Mult-Adds" (e.g. ShuffleNet's 140 MFLOPs). Batch norm, pooling, activations,
element-wise ops and the RBF distances of LeNet-5 are not counted; they are a small share of
every network here.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from ..models import create_model, model_info


def count_macs(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """MACs of one forward pass of `model` on an input of `input_shape` (batch included).

    Runs on the model's device; a model built under `torch.device("meta")` costs no arithmetic
    and no memory, so this is cheap even for VGG. The model runs in eval mode (auxiliary heads and
    batch statistics off) and its training flag is restored afterwards.
    """
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(torch.zeros(input_shape, device=device))
    finally:
        model.train(was_training)
    return counter.get_total_flops() // 2


def default_input_macs(name: str) -> int:
    """MACs of one image at a registered model's default input (built on the meta device)."""
    with torch.device("meta"):
        model = create_model(name)
    return count_macs(model, (1, *model_info(name).input_size))
