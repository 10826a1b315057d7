"""The optimiser of a run (weight decay on weights only) and the moving average of its weights."""

from __future__ import annotations

import copy

import torch

from .config import TrainConfig


def build_optimizer(model: torch.nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    # Decay weights only: decaying BN scales and biases hurts and has no regularising meaning.
    decay = [p for p in model.parameters() if p.requires_grad and p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.ndim <= 1]
    groups = [{"params": decay, "weight_decay": config.weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    if config.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=config.lr)
    return torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum,
                           nesterov=config.nesterov and config.momentum > 0)


class WeightEMA:
    """An exponential moving average of a model's parameters and buffers (BN statistics too).

    The decay warms up as min(decay, (1 + step) / (10 + step)), so a short run does not average
    in its random initialisation; it is a function of the step, so a resumed run continues exactly.
    """

    def __init__(self, model: torch.nn.Module, decay: float):
        self.decay = decay
        self.model = copy.deepcopy(model).eval().requires_grad_(False)
        pairs = list(zip(self.model.state_dict().values(), model.state_dict().values()))
        self._floats = [(e, p) for e, p in pairs if e.is_floating_point()]
        self._counters = [(e, p) for e, p in pairs if not e.is_floating_point()]  # BN batch counts

    @torch.no_grad()
    def update(self, step: int) -> None:
        """Move the average towards the live weights (whose tensors it holds since construction)."""
        decay = min(self.decay, (1 + step) / (10 + step))
        averaged, live = zip(*self._floats)
        torch._foreach_lerp_(list(averaged), list(live), 1 - decay)
        for e, p in self._counters:
            e.copy_(p)
