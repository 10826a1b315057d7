"""The optimiser of a run (weight decay on weights only) and the moving average of its weights.

SGD is `MomentumSGD` below, torch.optim.SGD's update in a class that does not derive from
torch.optim.Optimizer: constructing any torch.optim optimizer imports torch._dynamo (its
`add_param_group` and `step` are wrapped to keep the compiler out), 1.9-2.5 s of a cold process on
the 2-core machine of docs/speedrun.md. AdamW stays torch's.
"""

from __future__ import annotations

import copy

import torch

from .config import TrainConfig

MUON_MOMENTUM = 0.95  # Muon's usual momentum (Jordan et al., 2024; torch.optim.Muon's default)


def build_optimizer(model: torch.nn.Module, config: TrainConfig):
    # Decay weights only: decaying BN scales and biases hurts and has no regularising meaning.
    decay = [p for p in model.parameters() if p.requires_grad and p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.ndim <= 1]
    groups = [{"params": decay, "weight_decay": config.weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    if config.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=config.lr)
    if config.optimizer == "sdlm":  # LeNet-5's own (train/sdlm.py); the paper decays nothing
        from .sdlm import SDLM

        return SDLM(model, config.lr, config.sdlm_mu, config.batch_size, config.loss, config.weight_decay)
    if config.optimizer == "muon":
        # Muon is for hidden layers: the first trainable layer and the classifier keep SGD (as its
        # authors use it); with a frozen stem (fastnet's whitened one) that first layer is the conv after it.
        hidden, ends = decay[1:-1], decay[:1] + decay[-1:] if len(decay) > 1 else decay
        groups = [{"params": hidden, "weight_decay": config.weight_decay, "muon": True,
                   "momentum": MUON_MOMENTUM, "lr_ratio": config.muon_lr / config.lr},
                  {"params": ends, "weight_decay": config.weight_decay}, groups[1]]
    return MomentumSGD(groups, lr=config.lr, momentum=config.momentum,
                       nesterov=config.nesterov and config.momentum > 0)


def orthogonalize(matrix: torch.Tensor, steps: int = 5, eps: float = 1e-7) -> torch.Tensor:
    """Muon's quintic Newton-Schulz iteration towards the nearest semi-orthogonal matrix, with
    torch.optim.Muon's coefficients and steps, in fp32: torch's own (`_zeropower_via_newtonschulz`)
    runs in bf16, which a CPU without AVX512-BF16 emulates (it tripled fastnet's step here)."""
    from torch.optim._muon import DEFAULT_A, DEFAULT_B, DEFAULT_C

    x = matrix.float()
    tall = x.shape[0] > x.shape[1]
    if tall:
        x = x.T
    x = x / x.norm().clamp(min=eps)  # spectral norm at most 1
    for _ in range(steps):
        gram = x @ x.T
        x = DEFAULT_A * x + torch.addmm(gram, gram, gram, beta=DEFAULT_B, alpha=DEFAULT_C) @ x
    return x.T if tall else x


class MomentumSGD:
    """torch.optim.SGD (dampening 0, not maximising) with the same arithmetic, in the same order, and
    the same `param_groups` and `state_dict()` layout, so a checkpoint of either loads into the other.
    A group marked `muon` takes torch.optim.Muon's update instead (`--optimizer muon`).

    The update of each parameter p with gradient g, weight decay wd, momentum m and buffer b:
    g += wd * p; b = g on the first step, else b = m * b + g; g = g + m * b (Nesterov) or g = b;
    p -= lr * g.
    """

    def __init__(self, groups, lr: float, momentum: float = 0.0, nesterov: bool = False):
        if nesterov and momentum <= 0:
            raise ValueError("Nesterov momentum needs a momentum above 0")
        groups = list(groups)
        if groups and not isinstance(groups[0], dict):  # a plain iterable of parameters
            groups = [{"params": groups}]
        defaults = {"lr": lr, "momentum": momentum, "dampening": 0, "weight_decay": 0.0, "nesterov": nesterov,
                    "maximize": False, "foreach": None, "differentiable": False, "fused": None}
        self.param_groups = [{**defaults, **group, "params": list(group["params"])} for group in groups]
        self.state: dict[torch.Tensor, dict] = {}

    @property
    def _params(self) -> list[torch.Tensor]:
        return [p for group in self.param_groups for p in group["params"]]

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self._params:
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad.detach_().zero_()

    @torch.no_grad()
    def step(self) -> None:
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            if group.get("muon"):
                self._muon_step(group, params)
                continue
            grads = [p.grad for p in params]
            if group["weight_decay"]:
                grads = torch._foreach_add(grads, params, alpha=group["weight_decay"])
            momentum = group["momentum"]
            if momentum:
                buffers = []
                for p, g in zip(params, grads):
                    state = self.state.setdefault(p, {})
                    if state.get("momentum_buffer") is None:
                        state["momentum_buffer"] = g.detach().clone()
                    else:
                        state["momentum_buffer"].mul_(momentum).add_(g)
                    buffers.append(state["momentum_buffer"])
                if group["nesterov"]:
                    grads = torch._foreach_add(grads, buffers, alpha=momentum)
                else:
                    grads = buffers
            torch._foreach_add_(params, grads, alpha=-group["lr"])

    def _muon_step(self, group: dict, params: list[torch.Tensor]) -> None:
        """torch.optim.Muon's update (decoupled decay, momentum, Newton-Schulz orthogonalisation,
        its learning-rate adjustment) for weights of any rank, each seen as an (outputs, inputs)
        matrix: torch's Muon takes 2-D parameters only, and conv weights are 4-D (and channels_last)."""
        from torch.optim._muon import _adjust_lr

        lr, momentum = group["lr"], group["momentum"]
        for p in params:
            state = self.state.setdefault(p, {})
            if state.get("momentum_buffer") is None:
                state["momentum_buffer"] = torch.zeros_like(p)
            buffer = state["momentum_buffer"]
            buffer.lerp_(p.grad, 1 - momentum)
            update = p.grad.lerp(buffer, momentum) if group["nesterov"] else buffer
            matrix = update.reshape(len(update), -1)
            p.mul_(1 - lr * group["weight_decay"])
            p.add_(orthogonalize(matrix).reshape(p.shape).to(p.dtype), alpha=-_adjust_lr(lr, None, matrix.shape))

    def state_dict(self) -> dict:
        """torch.optim.Optimizer's layout: parameters numbered in group order."""
        index = {p: i for i, p in enumerate(self._params)}
        groups = []
        for group in self.param_groups:
            groups.append({**{k: v for k, v in group.items() if k != "params"},
                           "params": [index[p] for p in group["params"]]})
        state = {index[p]: {"momentum_buffer": s["momentum_buffer"]} for p, s in self.state.items()
                 if s.get("momentum_buffer") is not None}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        saved = state_dict["param_groups"]
        if [len(g["params"]) for g in saved] != [len(g["params"]) for g in self.param_groups]:
            raise ValueError("the saved optimizer state has other parameter groups than this model")
        by_index = {}
        for group, saved_group in zip(self.param_groups, saved):
            group.update({k: v for k, v in saved_group.items() if k != "params"})
            by_index.update(zip(saved_group["params"], group["params"]))
        self.state = {}
        for i, s in state_dict["state"].items():
            p = by_index[int(i)]
            if s.get("momentum_buffer") is not None:
                self.state[p] = {"momentum_buffer": s["momentum_buffer"].to(p.device, p.dtype).clone()}


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
