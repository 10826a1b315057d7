"""Stochastic diagonal Levenberg-Marquardt (LeCun et al. 1998, Appendix C): `--optimizer sdlm`.

Every parameter w_k takes its own step, lr / (mu + h_k) times its gradient, where h_k is the
Gauss-Newton estimate of the loss's second derivative with respect to w_k, averaged over
`sdlm_samples` training examples before each epoch and held for the epoch (the paper: 500 samples,
mu = 0.02). A flat direction (h_k small) gets at most lr / mu; a steep one proportionally less.

The second derivatives are back-propagated the paper's way (its eqs. 23-28, the Gauss-Newton
terms only): through a unit's activation f, times f'(a)^2; through a connection, times w^2; into a
weight, the input's square times the second derivative at the unit's output, summed over the
connections that share the weight. All of that is linear in the output's second derivative, so
it is one backward pass of a "squared" network built from the model's own layers
(`second_derivatives`). The seed at the output: the RBF head's criterion is dominated by the
correct class's squared distance y_D = |x - c_D|^2, whose second derivative in each of F6's
outputs is 2 (the paper's choice); a linear head's logits get the softmax's p (1 - p).

The paper updates after every example. With batches of B examples the gradient is their mean, so
the step is scaled by B: one step of B summed gradients, as B per-example steps would give to first
order (`lr` stays the paper's per-example eta).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from ..errors import ConvzooError
from ..models.lenet5_1998 import EuclideanRBF, PaddedConv2d, PartialConv2d, ScaledTanh, Subsampling
from .tasks import MAP_J

LINEAR_LAYERS = (nn.Conv2d, nn.Linear, PartialConv2d, Subsampling)  # linear in their input: w^2 rule
ACTIVATIONS = (ScaledTanh, nn.Tanh, nn.Sigmoid, nn.ReLU)  # elementwise: f'(a)^2 rule
SHAPE_LAYERS = (nn.Flatten, nn.Identity, nn.Dropout)  # move values, no arithmetic: passed through


def second_derivatives(model: nn.Module, x: torch.Tensor, criterion: str = "map") -> dict[nn.Parameter, torch.Tensor]:
    """{parameter: the mean over the examples x of its Gauss-Newton second derivative}."""
    layers = list(model) if isinstance(model, nn.Sequential) else [model]
    for m in layers:
        if not isinstance(m, (*LINEAR_LAYERS, *ACTIVATIONS, *SHAPE_LAYERS, EuclideanRBF)):
            raise ConvzooError(f"--optimizer sdlm back-propagates second derivatives through sequential models of "
                               f"convolutions, linear layers, subsampling and elementwise activations; "
                               f"{type(m).__name__} is none of these")
    if not isinstance(layers[-1], (*LINEAR_LAYERS, EuclideanRBF)):
        raise ConvzooError("--optimizer sdlm needs a model that ends in a linear layer or RBF units")
    proxies: dict[nn.Parameter, torch.Tensor] = {}
    s = None  # the squared network's value at this layer (only its backward pass matters)
    x = x.detach()
    with torch.enable_grad():
        for index, m in enumerate(layers):
            last = index == len(layers) - 1
            if isinstance(m, EuclideanRBF):
                if not last:
                    raise ConvzooError("--optimizer sdlm: the RBF units must be the model's output")
                seed = torch.full_like(x, 2.0)  # d^2 |x - c_D|^2 / dx_k^2
                break
            if isinstance(m, LINEAR_LAYERS):
                named = dict(m.named_parameters())
                mine = {k: p.detach().clone().requires_grad_() for k, p in named.items()}
                proxies.update({named[k]: v for k, v in mine.items()})
                squared = {k: p.detach() ** 2 if k.rsplit(".", 1)[-1] != "bias" else torch.zeros_like(p)
                           for k, p in named.items()}
                into_weights = _apply(m, mine, x ** 2, background=True)  # d/dw = input^2 * (seed below)
                s = into_weights if s is None else into_weights + _apply(m, squared, s, background=False)
                with torch.no_grad():
                    x = m(x)
                if last:
                    seed = _softmax_curvature(x, criterion)
            elif isinstance(m, ACTIVATIONS):
                a = x.clone().requires_grad_()
                (slope,) = torch.autograd.grad(m(a).sum(), a)
                s = None if s is None else s * slope ** 2
                x = m(x)
            else:
                s = None if s is None else m(s)
                x = m(x)
        if s is None:
            return {}
        grads = torch.autograd.grad((s * seed).sum(), list(proxies.values()), allow_unused=True)
    return {p: (torch.zeros_like(p) if g is None else g / len(x)) for p, g in zip(proxies, grads)}


def _apply(m: nn.Module, params: dict, inp: torch.Tensor, background: bool) -> torch.Tensor:
    """Layer `m` with `params` on `inp`. C1's padding is a value like any input: the squared
    network pads the squared input with background^2 (and the second derivatives with 0)."""
    if isinstance(m, PaddedConv2d) and m.pad:
        inp = F.pad(inp, (m.pad,) * 4, value=m.background ** 2 if background else 0.0)
        return F.conv2d(inp, params["weight"], params["bias"])
    return functional_call(m, params, (inp,))


def _softmax_curvature(logits: torch.Tensor, criterion: str) -> torch.Tensor:
    """The Gauss-Newton diagonal p (1 - p) of the cross-entropy (or the MAP criterion) in its logits."""
    if criterion == "map":
        logits = F.pad(logits, (0, 1), value=-MAP_J)
    p = logits.softmax(1)
    return (p * (1 - p))[:, :logits.shape[1] - (criterion == "map")]


class SDLM:
    """The optimiser: per-parameter steps lr * batch / (mu + h) on the batch's mean gradient.

    `estimate_curvature(x)` sets h from the examples x (the Trainer calls it before each epoch);
    until then h = 0 and the step is lr * batch / mu. `param_groups` and `state_dict()` follow
    torch.optim's layout so the Trainer's schedule and checkpoints handle it like the others.
    """

    def __init__(self, model: nn.Module, lr: float, mu: float, batch_size: int, criterion: str = "map",
                 weight_decay: float = 0.0):
        self.model, self.mu, self.batch_size, self.criterion = model, mu, batch_size, criterion
        params = [p for p in model.parameters() if p.requires_grad]
        self.param_groups = [{"params": params, "lr": lr, "weight_decay": weight_decay}]
        self.hessian = {p: torch.zeros_like(p) for p in params}

    def estimate_curvature(self, x: torch.Tensor) -> None:
        h = second_derivatives(self.model, x, self.criterion)
        self.hessian = {p: h.get(p, torch.zeros_like(p)).detach() for p in self.hessian}

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.hessian:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        for group in self.param_groups:
            scale = group["lr"] * self.batch_size
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad if not group["weight_decay"] else p.grad + group["weight_decay"] * p
                p.addcdiv_(grad, self.hessian[p] + self.mu, value=-scale)

    def state_dict(self) -> dict:
        groups = [{k: v for k, v in g.items() if k != "params"} | {"params": list(range(len(g["params"])))}
                  for g in self.param_groups]
        return {"state": {i: {"hessian": h} for i, h in enumerate(self.hessian.values())}, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        for group, saved in zip(self.param_groups, state_dict["param_groups"]):
            group.update({k: v for k, v in saved.items() if k != "params"})
        for (p, h), saved in zip(list(self.hessian.items()), state_dict["state"].values()):
            self.hessian[p] = saved["hessian"].to(h.device, h.dtype)
