"""Sigmoid vs tanh vs ReLU, and the vanishing gradient.

Lecture: the sigmoid's derivative is at most 0.25, so a gradient passing back through many sigmoid
layers shrinks geometrically (a factor 0.8 per layer over 100 layers is 0.8^100 ~ 2e-10); the lower
layers of a deep sigmoid net barely learn. ReLU passes the gradient unchanged where it is active,
and trains faster (AlexNet: 6x faster than tanh to 25% error on CIFAR-10).
Here: LeNet-5 (textbook form, average pooling, no batch norm) and a deeper plain net, a narrow
VGG-11 without batch norm or dropout (8 convs + 3 dense layers), each with the three activations.
Measured for each trained run: the L2 norm of the loss gradient at every conv and dense layer's
weights on one fixed batch of 256 training images, at initialisation (the same seeded weights
the run starts from) and after training; and the epochs and seconds to a target test accuracy.
Control: the plain VGG fails with its builder's initialisation (He fan-out for the convs, PyTorch's
default for the dense layers). Is that its depth or its initialisation? `vgg-he` trains the same
three nets from He-normal weights (fan-in, every conv and dense layer, zero biases; `--init he`).
The pairs tested are Holm-adjusted together.
"""

from __future__ import annotations

import math

import torch

from ..experiments.stats import describe, family, rule_text, stat
from .base import Analysis, Measurement, Results, Run, Setting, Study
from .common import claim, finish_axes, mean_curve, pct, to_target
from .probe import gradient_norms

ACTIVATIONS = ("sigmoid", "tanh", "relu")
_VGG = ("vgg11", {"width": 0.125, "hidden": 128, "dropout": 0.0})
NETS = {"lenet": ("lenet", {}, {}), "vgg": (*_VGG, {}), "vgg-he": (*_VGG, {"init": "he"})}
BATCH = 256


def _runs() -> tuple[Run, ...]:
    return tuple(Run(f"{net}-{act}", model, {**kwargs, "activation": act}, overrides, group=net)
                 for net, (model, kwargs, overrides) in NETS.items() for act in ACTIVATIONS)


def measure(m: Measurement) -> dict:
    generator = torch.Generator().manual_seed(1234)
    index = torch.randperm(len(m.data.train), generator=generator)[:BATCH]
    x, y = m.normalise(m.data.train.images[index]), m.data.train.labels[index]
    return {"grad_init": gradient_norms(m.fresh_model(), x, y), "grad_trained": gradient_norms(m.model, x, y)}


def _first_last(results: Results, run: str, when: str) -> tuple[list[float], list[float], list[str]]:
    """Per seed: the first layer's gradient norm, the last layer's, and the layer names."""
    first, last, names = [], [], []
    for r in results.of(run):
        norms = r.measurements.get(when) if r.status == "finished" else None
        if norms:
            names = list(norms)
            first.append(norms[names[0]])
            last.append(norms[names[-1]])
    return first, last, names


def _log10(values):
    return [math.log10(max(v, 1e-30)) for v in values]


def _pairs(results: Results) -> dict:
    """Every pair the finding tests (Holm-adjusted together): per net, the log10 first-layer gradient
    and the test accuracy of sigmoid against ReLU; per activation, the plain VGG from He's weights
    against the builder's (the control)."""
    pairs = {}
    for net in NETS:
        sig, relu = f"{net}-sigmoid", f"{net}-relu"
        pairs[f"{net} grad"] = (_log10(_first_last(results, relu, "grad_init")[0]),
                                _log10(_first_last(results, sig, "grad_init")[0]))
        pairs[f"{net} acc"] = (results.values(sig, "test_acc"), results.values(relu, "test_acc"))
    for act in ACTIVATIONS:
        pairs[f"he {act}"] = (results.values(f"vgg-{act}", "test_acc"), results.values(f"vgg-he-{act}", "test_acc"))
    return pairs


def analyse(results: Results) -> Analysis:
    target = results.option("target")
    rows, claims, lines, comparisons = [], [], [], []
    for run in results.runs:
        first, last, _ = _first_last(results, run.name, "grad_init")
        epochs, seconds, _ = to_target(results, run.name, target)
        ratio = stat([math.log10(max(f, 1e-30) / max(la, 1e-30)) for f, la in zip(first, last)])
        rows.append([run.name, pct(results.stat(run.name, "test_acc")), epochs, seconds,
                     stat(first).fmt(3) if first and max(first) > 1e-3 else _sci(first),
                     stat(last).fmt(3), ratio.fmt(1)])
    lines.append(f"The arithmetic of the lecture: the sigmoid's slope is at most 0.25; 0.8^100 = {0.8 ** 100:.1e}, "
                 f"0.25^10 = {0.25 ** 10:.1e}.")
    tested = family(_pairs(results))
    comparisons = list(tested.values())
    for net in NETS:
        grad, acc = tested[f"{net} grad"], tested[f"{net} acc"]
        claims += [claim(f"{net}: log10 first-layer gradient, sigmoid vs relu, at init", grad),
                   claim(f"{net}: test accuracy, relu vs sigmoid", acc)]
        names = _first_last(results, f"{net}-sigmoid", "grad_init")[2]
        first_layer = names[0] if names else "first layer"
        orders = -grad.diff
        held = orders >= 1 and grad.distinct is not False
        lines.append(
            f"\n{net}: at initialisation the {first_layer} gradient of the sigmoid net is "
            f"{orders:.1f} orders of magnitude {'smaller' if orders > 0 else 'larger'} than the ReLU net's "
            f"({describe(grad, 'log10 sigmoid - ReLU:', scale=1.0, unit='')})"
            + (": the lecture's vanishing gradient holds. " if held else ". ")
            + f"Test accuracy, ReLU against sigmoid: {describe(acc, 'difference')}.")
        reached = {act: to_target(results, f"{net}-{act}", target)[0] for act in ACTIVATIONS}
        lines.append(f"Epochs to {target * 100:.0f} % test accuracy: "
                     + ", ".join(f"{act} {reached[act]}" for act in ACTIVATIONS) + ".")
    lines.append("\nDepth or initialisation? The plain VGG from He's initialisation against its builder's: "
                 + "; ".join(describe(tested[f"he {act}"], act) for act in ACTIVATIONS) + ".")
    for act in ACTIVATIONS:
        claims.append(claim(f"vgg-{act}: test accuracy, He init vs the builder's", tested[f"he {act}"]))
    lines.append("\n" + rule_text(comparisons))
    figure = _figure(results)
    return Analysis(["run", "test accuracy %", f"epochs to {target * 100:.0f} %", "seconds to target",
                     "first-layer grad norm (init)", "last-layer grad norm (init)",
                     "log10 first/last (init)"], rows, "\n".join(lines), [figure], claims,
                    notes=["gradient norms: L2 norm of dL/dW per layer on one fixed batch of 256 training images",
                           (f"{_VGG[0]} options {_VGG[1]}, no batch norm; vgg-he: the same from He-normal weights; "
                            "lenet: average pooling, no batch norm")])


def _sci(values) -> str:
    if not values:
        return "-"
    s = stat(values)
    return f"{s.mean:.1e}" if s.n < 2 else f"{s.mean:.1e} ± {s.sd:.1e}"


WHEN = {"grad_init": ("at initialisation", "-", "o", "none"), "grad_trained": ("trained", ":", "s", None)}


def _figure(results: Results) -> str:
    """One panel of per-layer gradients per net (colour: activation; solid line, open circles: at
    initialisation; dotted line, filled squares: trained), and the test-accuracy curves."""
    from matplotlib.lines import Line2D

    name = "activation.png"
    colours = {"sigmoid": "tab:red", "tanh": "tab:orange", "relu": "tab:blue"}
    with results.figure(name, 1, len(NETS) + 1, figsize=(5.2 * (len(NETS) + 1), 4.4)) as (_fig, axes):
        for ax, net in zip(axes[:len(NETS)], NETS):
            for act in ACTIVATIONS:
                for when, (_, style, marker, face) in WHEN.items():
                    per_seed = [r.measurements[when] for r in results.of(f"{net}-{act}")
                                if r.status == "finished" and r.measurements.get(when)]
                    if not per_seed:
                        continue
                    layers = list(per_seed[0])
                    means = [10 ** stat(_log10([s[k] for s in per_seed])).mean for k in layers]
                    ax.plot(range(1, len(layers) + 1), means, style, marker=marker, markersize=4, color=colours[act],
                            markerfacecolor=face or colours[act])
                    ax.set_xticks(range(1, len(layers) + 1), layers, rotation=45, fontsize=7)
            ax.set_yscale("log")
            ax.set(ylabel="||dL/dW|| (log scale)", title=f"{net}: gradient per layer, input -> output")
            handles = [Line2D([], [], color=colours[a], lw=2, label=a) for a in ACTIVATIONS]
            handles += [Line2D([], [], color="black", ls=style, marker=marker, markerfacecolor=face or "black",
                               label=label) for label, style, marker, face in WHEN.values()]
            ax.legend(handles=handles, fontsize=7)
        for net, style in zip(NETS, ("-", "--", ":")):
            for act in ACTIVATIONS:
                epochs, acc = mean_curve(results, f"{net}-{act}")
                axes[-1].plot(epochs, [a * 100 for a in acc], style, color=colours[act], label=f"{net}-{act}")
        axes[-1].axhline(results.option("target") * 100, color="grey", lw=0.8)
        axes[-1].set(xlabel="epoch", ylabel="test accuracy %", title="test accuracy (mean over seeds)", ylim=(0, 100))
        axes[-1].legend(fontsize=7)
        finish_axes(*axes)
    return name


STUDY = Study(
    name="activation",
    summary="sigmoid vs tanh vs ReLU on LeNet and a deeper plain VGG (and from He init): per-layer gradients, speed",
    question="Are a sigmoid net's lower-layer gradients orders of magnitude smaller than a ReLU net's, and "
             "does ReLU reach a target accuracy sooner?",
    runs=_runs(),
    measure=measure,
    quick=Setting(train_size=2000, epochs=3, test_size=1000, batch_size=64, lr=0.05, seeds=2, minutes=2.2,
                  options={"target": 0.6}),
    full=Setting(train_size=8000, epochs=8, test_size=None, batch_size=128, lr=0.05, seeds=3, minutes=22,
                 options={"target": 0.8}),
    analyse=analyse,
)
