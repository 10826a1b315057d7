"""Test-time dropout ("Monte Carlo dropout", Gal & Ghahramani, ICML 2016): the lectures' "dropout
trains an ensemble of thinned networks that share weights", sampled at test time instead of
approximated by the weight scaling of eval mode.

Each of N forward passes keeps the dropout layers in training mode (a fresh random mask per pass)
and everything else in eval mode (batch norm uses its running statistics and updates nothing); the
prediction is the class of the softmax averaged over the passes. The spread says how much the
thinned nets disagree: the standard deviation of their accuracies over the passes, the mean
entropy of the averaged prediction (nats; ln 10 = 2.30 is a uniform guess over 10 classes), and
its part that is disagreement between the passes (the mutual information: the entropy of the mean
minus the mean of the entropies). The masks come from a fixed seed, so a run is reproducible.
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass

import torch
from torch import nn

from ..errors import ConvzooError

MAX_PASSES = 1000  # 1000 passes over 10,000 Fashion-MNIST images is already minutes for a small net


def active_dropouts(model: nn.Module) -> list[nn.Module]:
    """The dropout layers (any kind) that drop something: p > 0."""
    return [m for m in model.modules() if isinstance(m, nn.modules.dropout._DropoutNd) and m.p > 0]


@contextlib.contextmanager
def dropout_sampling(model: nn.Module, label: str = "this model"):
    """Eval mode everywhere except the dropout layers; the model's modes are restored after."""
    dropouts = active_dropouts(model)
    if not dropouts:
        raise ConvzooError(f"{label} has no dropout layer (p > 0), so every pass would be the same; "
                           "--mc-dropout needs a model trained with dropout")
    modes = {m: m.training for m in model.modules()}
    model.eval()
    for m in dropouts:
        m.train()
    try:
        yield dropouts
    finally:
        for m, mode in modes.items():
            m.training = mode


@dataclass
class MCDropoutEvaluation:
    passes: int
    count: int  # test examples
    dropout_layers: int
    accuracy: float  # the class of the softmax averaged over the passes
    deterministic_accuracy: float  # dropout off (eval mode): what `convzoo eval` reports
    pass_accuracy_mean: float  # one thinned net's accuracy, averaged over the passes
    pass_accuracy_sd: float  # ... and its standard deviation over the passes (0 for one pass)
    predictive_entropy: float  # mean over examples of H(mean of the passes' softmax), nats
    expected_entropy: float  # mean over examples of the mean of each pass's H(softmax), nats
    data: str = ""
    precision: str = "fp32"

    @property
    def mutual_information(self) -> float:
        """The part of the predictive entropy that is disagreement between the passes."""
        return self.predictive_entropy - self.expected_entropy

    def to_dict(self) -> dict:
        return {**asdict(self), "mutual_information": self.mutual_information}


def _entropy(p: torch.Tensor) -> torch.Tensor:  # (N, C) probabilities -> (N,) nats
    return -(p * p.clamp_min(1e-12).log()).sum(1)


def mc_dropout_evaluate(model: nn.Module, batches, passes: int, autocast=contextlib.nullcontext, *,
                        seed: int = 0, label: str = "this model") -> MCDropoutEvaluation:
    """N stochastic passes over every batch (a classifier's (images, labels) pairs); see the module
    docstring for what is measured. A ConvzooError for N outside 1..MAX_PASSES or a model without
    dropout."""
    if not 1 <= passes <= MAX_PASSES:
        raise ConvzooError(f"--mc-dropout takes 1 to {MAX_PASSES} passes, got {passes}")
    correct = torch.zeros(passes, dtype=torch.float64)  # per pass
    count = averaged = deterministic = 0
    entropy_of_mean = mean_entropy = 0.0
    with torch.random.fork_rng(devices=[]), torch.inference_mode(), autocast():
        torch.manual_seed(seed)
        with dropout_sampling(model, label) as dropouts:
            for x, y in batches:
                for m in dropouts:  # the deterministic prediction, from the same batch
                    m.eval()
                deterministic += (model(x).argmax(1) == y).sum().item()
                for m in dropouts:
                    m.train()
                total = 0.0
                for k in range(passes):  # summed as they come: N passes of a 1000-class batch need no memory
                    p = model(x).float().softmax(1)  # (N, C)
                    total = total + p
                    correct[k] += (p.argmax(1) == y).sum().item()
                    mean_entropy += _entropy(p).sum().item() / passes
                mean = total / passes
                averaged += (mean.argmax(1) == y).sum().item()
                entropy_of_mean += _entropy(mean).sum().item()
                count += len(y)
    if not count:
        raise ConvzooError("the test set is empty")
    per_pass = correct / count
    return MCDropoutEvaluation(
        passes=passes, count=count, dropout_layers=len(dropouts), accuracy=averaged / count,
        deterministic_accuracy=deterministic / count, pass_accuracy_mean=per_pass.mean().item(),
        pass_accuracy_sd=per_pass.std().item() if passes > 1 else 0.0,
        predictive_entropy=entropy_of_mean / count, expected_entropy=mean_entropy / count)


def mc_dropout_checkpoint(ref, passes: int, name: str | None = None, data_dir=None, *,
                          force: bool = False, code: str | None = None) -> MCDropoutEvaluation:
    """`convzoo eval CKPT --mc-dropout N`: a classifier checkpoint on its test set, as `eval`
    prepares it (train.metrics.prepare_checkpoint)."""
    from .metrics import prepare_checkpoint

    if not 1 <= passes <= MAX_PASSES:  # before loading anything
        raise ConvzooError(f"--mc-dropout takes 1 to {MAX_PASSES} passes, got {passes}")
    ready = prepare_checkpoint(ref, name, data_dir, force=force, code=code)
    if ready.task.name != "classification":
        raise ConvzooError("--mc-dropout is for classifiers; this checkpoint segments images")
    model_name = ready.payload.get("model", {}).get("name", "this model")
    result = mc_dropout_evaluate(ready.model, ready.batches, passes, ready.runtime.autocast, label=model_name)
    result.data, result.precision = name or ready.payload["data"]["name"], ready.runtime.precision
    return result

