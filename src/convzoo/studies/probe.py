"""Looking inside a network for the studies: features tapped at every layer, per-layer gradient
norms, and linear probes on frozen features.

A layer's output is tapped where its activation function runs (every ReLU, sigmoid or tanh, in
the order the forward pass calls them), plus the logits; 4-D maps are conv layers (`conv1`,
`conv2`, ...), 2-D outputs dense ones (`fc1`, ...). This works for any registry model without
knowing its layout, and a module called twice in one forward is tapped twice.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

ACTIVATIONS = (nn.ReLU, nn.Sigmoid, nn.Tanh)


@dataclass
class Tapped:
    names: list[str]  # conv1, conv2, ..., fc1, ..., logits
    outputs: list[torch.Tensor]  # in the same order


@contextlib.contextmanager
def tapping(model: nn.Module):
    """Record every activation's output while the block runs; yields the list they go to."""
    outputs: list[torch.Tensor] = []
    hooks = [m.register_forward_hook(lambda _m, _i, out: outputs.append(out))
             for m in model.modules() if isinstance(m, ACTIVATIONS)]
    try:
        yield outputs
    finally:
        for hook in hooks:
            hook.remove()


def layer_names(outputs: list[torch.Tensor]) -> list[str]:
    conv = dense = 0
    names = []
    for out in outputs:
        if out.ndim == 4:
            conv += 1
            names.append(f"conv{conv}")
        else:
            dense += 1
            names.append(f"fc{dense}")
    return names


@torch.no_grad()
def eval_accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 1000) -> float:
    """Accuracy of `model` on (x, y) in eval mode: dropout off, batch norm on its running statistics,
    as the test set is scored; the model's mode is put back afterwards."""
    was_training = model.training
    model.eval()
    correct = sum(int((model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum()) for i in range(0, len(x), batch))
    model.train(was_training)
    return correct / max(len(x), 1)


@torch.no_grad()
def tap(model: nn.Module, x: torch.Tensor) -> Tapped:
    """Every tapped layer's output (and the logits) for one batch, the model in eval mode."""
    model.eval()
    with tapping(model) as outputs:
        logits = model(x)
    return Tapped(layer_names(outputs) + ["logits"], [o.detach() for o in outputs] + [logits.detach()])


def pooled(t: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) maps -> (N, C) global averages; (N, D) stays."""
    return t.mean((2, 3)) if t.ndim == 4 else t


@torch.no_grad()
def pooled_features(model: nn.Module, images: torch.Tensor, batch_size: int = 256) -> tuple[list[str], list[np.ndarray]]:
    """Global-average-pooled features of every tapped layer for (normalised) `images`."""
    names, chunks = None, []
    for start in range(0, len(images), batch_size):
        t = tap(model, images[start:start + batch_size])
        names = t.names
        chunks.append([pooled(o).float() for o in t.outputs])
    return names, [torch.cat(parts).numpy() for parts in zip(*chunks)]


def weight_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Conv and dense layers in registration order (for these models, the forward order)."""
    layers, conv, dense = [], 0, 0
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            conv += 1
            layers.append((f"conv{conv}", m))
        elif isinstance(m, nn.Linear):
            dense += 1
            layers.append((f"fc{dense}", m))
    return layers


def gradient_norms(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    """The L2 norm of the loss gradient with respect to each layer's weights, on one batch, in
    training mode (as the optimiser sees it), input to output. The model's weights are unchanged."""
    model.train()
    model.zero_grad(set_to_none=True)
    with torch.random.fork_rng(devices=[]):  # dropout draws must not move anyone's random stream
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
    norms = {name: float(m.weight.grad.norm()) for name, m in weight_layers(model) if m.weight.grad is not None}
    model.zero_grad(set_to_none=True)
    return norms


def linear_probe(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray,
                 max_iter: int = 300, seed: int = 0) -> float:
    """Test accuracy of a logistic regression on standardised features (scikit-learn)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(train_x)
    classifier = LogisticRegression(max_iter=max_iter, random_state=seed)
    with _quiet_convergence():
        classifier.fit(scaler.transform(train_x), train_y)
    return float(classifier.score(scaler.transform(test_x), test_y))


@contextlib.contextmanager
def _quiet_convergence():
    """A probe that stops at max_iter is still a measurement; sklearn's warning is noise here."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield
