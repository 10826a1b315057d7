"""Loading torchvision-style state dicts into convzoo's models.

Where a family's parameter count equals torchvision's (AlexNet `alexnet_owt`, VGG 11-19 with and
without BN, ResNet 18-152, ResNeXt, Wide ResNet, DenseNet, ShuffleNet v2), the two modules hold the
same tensors in the same order: both register their layers in the order of the forward pass
(stem, stages, blocks, and inside a block the main branch, then the shortcut; the classifier
last). Only the names differ (`layer1.0.conv1.weight` here is `stages.0.0.branch.0.weight`), so the
mapping is positional: the k-th tensor of one is the k-th of the other. It is checked, not trusted:
the counts must be equal, and every pair must agree in kind (weight, bias, running_mean,
running_var, num_batches_tracked) and in shape, or nothing is loaded.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from ..errors import ConvzooError


def torchvision_key_mapping(model: nn.Module, state_dict: Mapping[str, torch.Tensor]) -> dict[str, str]:
    """{torchvision key: convzoo key}, or a one-line ConvzooError at the first tensor that differs."""
    ours = model.state_dict()
    theirs = list(state_dict.items())
    if len(theirs) != len(ours):
        raise ConvzooError(f"the state dict holds {len(theirs)} tensors and {type(model).__name__} "
                           f"{len(ours)}: not the same architecture")
    mapping = {}
    for (their_key, tensor), (our_key, ours_tensor) in zip(theirs, ours.items()):
        if their_key.rsplit(".", 1)[-1] != our_key.rsplit(".", 1)[-1] or tensor.shape != ours_tensor.shape:
            raise ConvzooError(f"{their_key} {tuple(tensor.shape)} does not match {our_key} "
                               f"{tuple(ours_tensor.shape)}: not the same architecture")
        mapping[their_key] = our_key
    return mapping


def load_torchvision_state_dict(model: nn.Module, state_dict: Mapping[str, torch.Tensor]) -> dict[str, str]:
    """Load torchvision-named weights into `model` (strictly: every tensor, in place) and return
    the key mapping that was used."""
    mapping = torchvision_key_mapping(model, state_dict)
    model.load_state_dict({mapping[k]: v for k, v in state_dict.items()}, strict=True)
    return mapping
