"""Invariance: how a trained network's layers and output respond to translated, scaled and rotated
inputs (Zeiler & Fergus 2014, Figure 5), for an MLP and a CNN.

Lecture: small transformations change the first layer's features a lot and the top layers' much
less; the output is fairly stable to translation and scaling, not to rotation (except for
rotationally symmetric objects). For each trained run, a fixed set of test images is transformed
(studies/transforms.py: whole-pixel horizontal shifts, zoom about the centre, rotation about the
centre; uncovered pixels black) and fed through the network; for each tapped layer (every
activation, and the logits) we record the normalised feature distance
||f(T x) - f(x)|| / ||f(x)||, averaged over images, and for the output the accuracy and the mean
probability of the true class. Nothing was trained with augmentation.
"""

from __future__ import annotations

import torch

from ..experiments.stats import describe, family, rule_text, stat
from .base import Analysis, Measurement, Results, Run, Setting, Study
from .common import claim, finish_axes, pct
from .probe import tap
from .transforms import TRANSFORMS, apply

AMOUNTS = {"translation": (-8, -6, -4, -2, 0, 2, 4, 6, 8),
           "scale": (0.6, 0.7, 0.8, 0.9, 1.0, 1.15, 1.3, 1.5),
           "rotation": (-90, -60, -45, -30, -15, 0, 15, 30, 45, 60, 90)}
RUNS = (Run("mlp", "mlp", label="MLP 784-256-10"), Run("cnn", "lenet_modern", label="CNN (LeNet, ReLU, max pool, BN)"))
SHIFT = 4  # pixels, for the table and the finding


@torch.no_grad()
def measure(m: Measurement) -> dict:
    count = m.setting.options["images"]
    images, labels = m.data.test.images[:count].float(), m.data.test.labels[:count]
    clean = tap(m.model, m.normalise(images))
    result = {"layers": clean.names, "transforms": {}}
    for kind, amounts in AMOUNTS.items():
        rows = []
        for amount in amounts:
            t = tap(m.model, m.normalise(apply(images, kind, amount)))
            probs = t.outputs[-1].float().softmax(1)
            distances = []
            for out, ref in zip(t.outputs, clean.outputs):
                diff = (out - ref).flatten(1).norm(dim=1) / ref.flatten(1).norm(dim=1).clamp_min(1e-12)
                distances.append(float(diff.mean()))
            rows.append({"amount": amount, "accuracy": float((probs.argmax(1) == labels).float().mean()),
                         "true_prob": float(probs[torch.arange(len(labels)), labels].mean()),
                         "distance": distances})
        result["transforms"][kind] = rows
    return result


def _at(results: Results, run: str, kind: str, amounts, key: str, layer: int | None = None) -> list[float]:
    """Per seed: `key` averaged over the given amounts of one transform (both signs of a shift)."""
    values = []
    for r in results.of(run):
        if r.status != "finished" or "transforms" not in r.measurements:
            continue
        rows = [row for row in r.measurements["transforms"][kind] if row["amount"] in amounts]
        picked = [row[key] if layer is None else row[key][layer] for row in rows]
        values.append(sum(picked) / len(picked))
    return values


def _layers(results: Results, run: str) -> list[str]:
    return next((r.measurements["layers"] for r in results.of(run) if r.measurements.get("layers")), [])


def _pairs(results: Results) -> dict:
    """Every pair the finding tests, Holm-adjusted together: per net, the first layer's feature
    distance at a shift against the last hidden layer's; the CNN's accuracy against the MLP's
    under a shift and under a rotation."""
    pairs = {}
    for run in RUNS:
        n = len(_layers(results, run.name))
        if n > 2:
            pairs[run.name] = (_at(results, run.name, "translation", (-SHIFT, SHIFT), "distance", 0),
                               _at(results, run.name, "translation", (-SHIFT, SHIFT), "distance", n - 2))
    pairs["shift"] = (_at(results, "mlp", "translation", (-SHIFT, SHIFT), "accuracy"),
                      _at(results, "cnn", "translation", (-SHIFT, SHIFT), "accuracy"))
    pairs["rot"] = (_at(results, "mlp", "rotation", (-30, 30), "accuracy"),
                    _at(results, "cnn", "rotation", (-30, 30), "accuracy"))
    return pairs


def analyse(results: Results) -> Analysis:
    columns = ["net", "clean accuracy %", f"shift ±{SHIFT} px", "scale 0.8 / 1.3", "rotation ±30°",
               "rotation ±90°", f"distance at ±{SHIFT} px: first layer", "last hidden layer", "logits"]
    rows, claims, lines = [], [], []
    tested = family(_pairs(results))
    comparisons = list(tested.values())
    for run in RUNS:
        acc = {
            "shift": stat(_at(results, run.name, "translation", (-SHIFT, SHIFT), "accuracy")),
            "scale": stat(_at(results, run.name, "scale", (0.8, 1.3), "accuracy")),
            "rot30": stat(_at(results, run.name, "rotation", (-30, 30), "accuracy")),
            "rot90": stat(_at(results, run.name, "rotation", (-90, 90), "accuracy")),
        }
        layers = _layers(results, run.name)
        dist = [stat(_at(results, run.name, "translation", (-SHIFT, SHIFT), "distance", i)) for i in range(len(layers))]
        rows.append([run.name, pct(results.stat(run.name, "test_acc")), pct(acc["shift"]), pct(acc["scale"]),
                     pct(acc["rot30"]), pct(acc["rot90"]),
                     dist[0].fmt(2) if dist else "-", dist[-2].fmt(2) if len(dist) > 1 else "-",
                     dist[-1].fmt(2) if dist else "-"])
        if len(dist) > 2:  # at least two hidden layers to compare
            c = tested[run.name]
            claims.append(claim(f"{run.name}: feature distance at ±{SHIFT} px, last hidden vs first layer", c))
            trend = " -> ".join(f"{layers[i]} {d.mean:.2f}" for i, d in enumerate(dist))
            lines.append(f"- {run.name}, normalised feature distance at a ±{SHIFT} px shift, layer by layer: {trend}. "
                         + describe(c, f"Last hidden layer against {layers[0]}:", scale=1.0, unit="") + ".")
    shift, rot = tested["shift"], tested["rot"]
    claims += [claim(f"accuracy at ±{SHIFT} px, cnn vs mlp", shift), claim("accuracy at ±30°, cnn vs mlp", rot)]
    lines.insert(0, f"Accuracy of the CNN minus the MLP's: shifted by ±{SHIFT} px, {describe(shift, '')}; "
                    f"rotated by ±30°, {describe(rot, '')}.")
    layers = _layers(results, "cnn")
    if len(layers) > 2:
        trend = tested["cnn"]
        verdict = ("held for the CNN: its top hidden layer moved less than its first" if trend.diff < 0 and trend.distinct
                   else "is not decided for the CNN here: the top hidden layer moved less than the first, but within "
                        "the noise" if trend.diff < 0 else
                   "did not hold for the CNN here: its top hidden layer moved as much as its first or more")
        lines.append(f"\nZeiler & Fergus's curve (lower layers change a lot under a shift, upper ones less) {verdict}.")
    lines.append("The output is not rotation invariant: accuracy at ±90° is "
                 + ", ".join(f"{r.name} {pct(stat(_at(results, r.name, 'rotation', (-90, 90), 'accuracy')))} %"
                             for r in RUNS) + ".")
    lines.append("\n" + rule_text(comparisons))
    figure = _figure(results)
    return Analysis(columns, rows, "\n".join(lines), [figure], claims,
                    notes=[(f"{results.option('images')} test images per transform; distance = "
                           "||f(Tx) - f(x)|| / ||f(x)||, mean over images (0 = unchanged, ~1.4 = unrelated)"),
                           "accuracy columns average both directions of a transform"])


def _figure(results: Results) -> str:
    name = "invariance.png"
    kinds = list(TRANSFORMS)
    with results.figure(name, len(kinds), 4, figsize=(18, 10)) as (_fig, axes):
        for row, kind in enumerate(kinds):
            amounts = AMOUNTS[kind]
            for col, run in enumerate(RUNS):
                ax = axes[row][col]
                layers = _layers(results, run.name)
                for i, layer in enumerate(layers):
                    means = [stat(_at(results, run.name, kind, (a,), "distance", i)).mean for a in amounts]
                    ax.plot(amounts, means, marker="o", markersize=2, label=layer)
                ax.set(xlabel=f"{kind} ({TRANSFORMS[kind]})", ylabel="normalised feature distance",
                       title=f"{run.name}: distance per layer")
                ax.legend(fontsize=6, ncol=2)
            for col, key, label in ((2, "accuracy", "accuracy"), (3, "true_prob", "P(true class)")):
                ax = axes[row][col]
                for run in RUNS:
                    means = [stat(_at(results, run.name, kind, (a,), key)).mean for a in amounts]
                    ax.plot(amounts, means, marker="o", markersize=3, label=run.name)
                ax.set(xlabel=f"{kind} ({TRANSFORMS[kind]})", ylabel=label, title=f"output: {label}")
                ax.legend(fontsize=8)
            finish_axes(*axes[row])
    return name


STUDY = Study(
    name="invariance",
    summary="translated, scaled and rotated test images: feature distance per layer and accuracy, MLP vs CNN",
    question="How much do a trained network's layers and output change when the input is shifted, scaled or "
             "rotated, and does a CNN cope with shifts better than an MLP?",
    runs=RUNS,
    measure=measure,
    quick=Setting(train_size=5000, epochs=4, test_size=1000, batch_size=64, lr=0.05, seeds=2, minutes=1,
                  options={"images": 500}),
    full=Setting(train_size=None, epochs=8, test_size=None, batch_size=128, lr=0.05, seeds=3, minutes=10,
                 options={"images": 2000}),
    analyse=analyse,
)
