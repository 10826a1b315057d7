"""Tapping off features at each layer: what does each layer already know?

Lecture: the features of any layer of a trained CNN can be tapped off and fed to a simple
classifier; deeper layers give better features (Zeiler & Fergus 2014, Table 6; Yosinski et al.
2014). Here: a narrow VGG-11 with batch norm (8 convs, 2 hidden dense layers) is trained; then, for
every layer (each activation's output, conv maps global-average-pooled to one value per channel),
a logistic regression (scikit-learn, on standardised features) is fitted on training examples and
scored on test examples. The same probes on the network at initialisation (the same seeded
weights before training) show what the architecture alone gives; the raw pixels are the baseline.
"""

from __future__ import annotations

import itertools

import numpy as np

from ..experiments.stats import describe, family, rule_text, stat
from .base import Analysis, Measurement, Results, Run, Setting, Study
from .common import claim, errorbars, finish_axes, pct
from .probe import linear_probe, pooled_features

RUNS = (Run("vgg11-bn", "vgg11", {"width": 0.125, "hidden": 128, "batch_norm": True}, label="narrow VGG-11 + BN"),)


def measure(m: Measurement) -> dict:
    n_train, n_test = m.setting.options["probe_train"], m.setting.options["probe_test"]
    train_x = m.normalise(m.data.train.images[:n_train])
    test_x = m.normalise(m.data.test.images[:n_test])
    train_y, test_y = m.data.train.labels[:n_train].numpy(), m.data.test.labels[:n_test].numpy()
    result = {"pixels": linear_probe(train_x.flatten(1).numpy(), train_y, test_x.flatten(1).numpy(), test_y,
                                     seed=m.seed)}
    for key, model in (("trained", m.model), ("init", m.fresh_model())):
        names, train_f = pooled_features(model, train_x)
        _, test_f = pooled_features(model, test_x)
        result[key] = {name: linear_probe(a, train_y, b, test_y, seed=m.seed)
                       for name, a, b in zip(names, train_f, test_f)}
        result.setdefault("dims", {n: int(np.shape(a)[1]) for n, a in zip(names, train_f)})
    return result


def _per_layer(results: Results, run: str, key: str) -> dict[str, list[float]]:
    values: dict[str, list[float]] = {}
    for r in results.of(run):
        for layer, acc in (r.measurements.get(key) or {}).items():
            values.setdefault(layer, []).append(acc)
    return values


def analyse(results: Results) -> Analysis:
    run = RUNS[0].name
    trained, init = _per_layer(results, run, "trained"), _per_layer(results, run, "init")
    pixels = stat([r.measurements["pixels"] for r in results.of(run) if "pixels" in r.measurements])
    dims = next((r.measurements["dims"] for r in results.of(run) if "dims" in r.measurements), {})
    rows, claims = [], []
    layers = list(trained)
    pairs = {layer: (init.get(layer, []), trained[layer]) for layer in layers}  # trained vs init, every layer
    if layers:  # and the last hidden layer against the first
        pairs["deep"] = (trained[layers[0]], trained[layers[-2] if len(layers) > 1 else layers[0]])
    tested = family(pairs)  # Holm-adjusted together
    comparisons = list(tested.values())
    for depth, layer in enumerate(layers, 1):
        c = tested[layer]
        rows.append([str(depth), layer, str(dims.get(layer, "-")), pct(stat(trained[layer])),
                     pct(stat(init.get(layer, []))), f"{c.diff * 100:+.1f}", c.verdict])
    lines = []
    if layers:
        first, best = layers[0], max(layers, key=lambda k: stat(trained[k]).mean)
        deep = tested["deep"]
        claims.append(claim(f"probe accuracy, {layers[-2] if len(layers) > 1 else first} vs {first}", deep))
        means = [stat(trained[k]).mean for k in layers]
        rises = sum(b >= a for a, b in itertools.pairwise(means))
        lines += [(f"Linear probes on the trained network's pooled features rise from {pct(stat(trained[first]))} % "
                  f"at {first} to {pct(stat(trained[best]))} % at {best} (best); the pixels give {pct(pixels)} %. "
                  f"Last hidden layer against {first}: {describe(deep, 'accuracy')}."),
                  f"Accuracy rose (or held) at {rises} of {len(layers) - 1} steps deeper: "
                  + ("what each layer knows grows with depth, as the lecture says."
                     if rises >= 0.75 * (len(layers) - 1) else "it does not grow steadily with depth here."),
                  "At initialisation the same probes reach "
                  + ", ".join(f"{k} {pct(stat(init[k]))} %" for k in (layers[0], layers[-1]) if k in init) + "."]
        top = layers[-2] if len(layers) > 1 else first
        learned = tested[top]
        claims.append(claim(f"probe accuracy at {top}, trained vs init", learned))
        lines.append(f"At {top}, trained against random features: {describe(learned, '')}: "
                     + ("training, not the architecture alone, makes the deep features linearly separable."
                        if learned.distinct and learned.diff > 0 else
                        "not decided: the difference is within the noise of these seeds." if learned.distinct is False
                        else
                        "training made them worse here." if learned.distinct else "one seed: not decided."))
    lines.append("\n" + rule_text(comparisons))
    figure = _figure(results, layers, trained, init, pixels)
    return Analysis(["depth", "layer", "features", "probe accuracy % (trained)", "at initialisation",
                     "trained - init (points)", "noise"], rows, "\n".join(lines), [figure], claims,
                    notes=[(f"probes: logistic regression on {results.option('probe_train')} training and "
                           f"{results.option('probe_test')} test examples; conv maps global-average-pooled"),
                           f"pixels (flattened, {pct(pixels)} %) is the baseline"])


def _figure(results: Results, layers, trained, init, pixels) -> str:
    name = "probes.png"
    with results.figure(name, 1, 1, figsize=(9, 4.5)) as (_fig, ax):
        x = range(1, len(layers) + 1)
        for values, label in ((trained, "trained"), (init, "at initialisation")):
            stats = [stat(values.get(k, [])) for k in layers]
            errorbars(ax, x, stats, label)
        ax.axhline(pixels.mean * 100, color="grey", ls="--", label="pixels")
        ax.set_xticks(list(x), layers, rotation=45)
        ax.set(xlabel="layer", ylabel="linear probe test accuracy %", title="what each layer knows")
        finish_axes(ax, legend="medium")
    return name


STUDY = Study(
    name="probes",
    summary="a linear probe on every layer's pooled features of a trained VGG-11 (and at init): accuracy vs depth",
    question="How much does each layer of a trained CNN already know, measured by a linear classifier on its "
             "frozen, pooled features?",
    runs=RUNS,
    measure=measure,
    quick=Setting(train_size=3000, epochs=4, test_size=1000, batch_size=64, lr=0.05, seeds=2, minutes=1.5,
                  options={"probe_train": 2000, "probe_test": 1000}),
    full=Setting(train_size=20000, epochs=8, test_size=None, batch_size=128, lr=0.05, seeds=3, minutes=12,
                 options={"probe_train": 5000, "probe_test": 2000}),
    analyse=analyse,
)
