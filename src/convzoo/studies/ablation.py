"""Zeiler & Fergus's ablation of AlexNet (ECCV 2014, Table 3): remove layers, retrain, compare.

Lecture: removing FC7 costs 1.1 points of ImageNet top-1 accuracy, FC6 and FC7 5.7, conv3, conv4,
FC6 and FC7 33.5: the depth of the network is key, not any one layer. Here: a narrowed AlexNet
with the small-input stem (28x28 Fashion-MNIST; `alexnet_small`'s options `widths`, `hidden` and
`remove`), trained whole and with each cut, from scratch.
"""

from __future__ import annotations

import itertools

from ..experiments.stats import describe, family, rule_text
from .base import Analysis, Results, Run, Setting, Study
from .common import claim, compare_runs, finish_axes, millions, pct, plot_mean_curves, points

# (run name, layers removed, the lecture's ImageNet top-1 drop in points)
CUTS = [("whole", (), 0.0), ("no-fc7", ("fc7",), 1.1), ("no-fc6-fc7", ("fc6", "fc7"), 5.7),
        ("no-conv3-conv4-fc6-fc7", ("conv3", "conv4", "fc6", "fc7"), 33.5)]
# Narrow, and with batch norm (not in the 2012 paper): without it the whole network is still far
# from converged after the few epochs a CPU allows, and the comparison would measure training
# speed, not what the layers are worth.
NARROW = {"quick": {"model_kwargs": {"widths": (16, 32, 48, 48, 32), "hidden": 256, "batch_norm": True}},
          "full": {"model_kwargs": {"widths": (24, 48, 72, 72, 48), "hidden": 384, "batch_norm": True}}}


def analyse(results: Results) -> Analysis:
    whole = results.info["whole"]
    rows, claims, drops = [], [], []
    # The three cuts against the whole net, tested together (Holm).
    tested = family({name: (results.values("whole", "test_acc"), results.values(name, "test_acc"))
                     for name, cut, _ in CUTS if cut})
    for name, cut, lecture in CUTS:
        acc = results.stat(name, "test_acc")
        c = tested.get(name) or compare_runs(results, "whole", name)
        removed = whole["params"] - results.info[name]["params"]
        rows.append([name, ", ".join(cut) or "-", f"{results.info[name]['params']:,}",
                     f"{removed:,}" if cut else "-", pct(acc), points(c) if cut else "-",
                     c.verdict if cut else "-", f"-{lecture:.1f}" if cut else "-"])
        if cut:
            claims.append(claim(f"remove {'+'.join(cut)}", c, lecture_drop_points=lecture,
                                params_removed=removed))
            drops.append((name, cut, -c.diff, c, lecture, removed))
    comparisons = [d[3] for d in drops]
    ordered = all(a[2] <= b[2] for a, b in itertools.pairwise(drops))
    lines = [(f"Whole narrow AlexNet: {pct(results.stat('whole', 'test_acc'))} % test accuracy "
             f"({millions(whole['params'])} parameters).")]
    for name, cut, drop, c, lecture, removed in drops:
        lines.append(f"- Removing {' + '.join(cut)} ({millions(removed)} parameters, "
                     f"{100 * removed / whole['params']:.0f} % of them): "
                     f"{describe(c, 'accuracy')}; the lecture's ImageNet drop: {lecture} points.")
    verdict = ("held: each larger cut cost more accuracy on average" if ordered else
               "did not hold in order: a smaller cut cost as much as or more than a larger one")
    lines.append(f"\nThe lecture's \"removing more layers costs more accuracy\" {verdict} (mean drops "
                 + ", ".join(f"{d[2] * 100:.1f}" for d in drops) + " points).")
    small = [d for d in drops if d[3].distinct is not True]
    if small:
        lines.append("Within the seed noise: " + "; ".join("-" + "-".join(d[1]) for d in small) + ".")
    better = [d for d in drops if d[3].distinct and d[3].diff > 0]
    if better:
        lines.append("Removing " + "; ".join("+".join(d[1]) for d in better) + " made the network better here, "
                     "against the lecture: the smaller net trains faster in this short run.")
    lines.append("\n" + rule_text(comparisons))
    figure = _figure(results, drops)
    return Analysis(["run", "removed", "parameters", "parameters removed", "test accuracy %",
                     "change (points)", "noise", "lecture (ImageNet top-1, points)"], rows,
                    "\n".join(lines), [figure], claims,
                    notes=[(f"narrow AlexNet, small-input stem, batch norm: "
                           f"{NARROW[results.setting_name]['model_kwargs']}"),
                           "lecture figures: Zeiler & Fergus 2014, Table 3 (ImageNet, their AlexNet-like model)"])


def _figure(results: Results, drops) -> str:
    name = "ablation.png"
    with results.figure(name, 1, 2, figsize=(11, 4)) as (_fig, (ax_drop, ax_curve)):
        x = range(len(drops))
        ours = [d[2] * 100 for d in drops]
        errors = [(d[3].pooled_sd * 100 if d[3].pooled_sd == d[3].pooled_sd else 0) for d in drops]
        ax_drop.bar([i - 0.2 for i in x], ours, 0.4, yerr=errors, capsize=3, label=f"here ({results.data})")
        ax_drop.bar([i + 0.2 for i in x], [d[4] for d in drops], 0.4, label="lecture (ImageNet)")
        ax_drop.set_xticks(list(x), ["-" + "-".join(d[1]) for d in drops], fontsize=8)
        ax_drop.set(ylabel="accuracy drop (points)", title="cost of removing layers")
        ax_drop.legend()
        plot_mean_curves(ax_curve, results, [run for run, _, _ in CUTS])
        ax_curve.set(xlabel="epoch", ylabel="test accuracy % (mean over seeds)", title="test accuracy")
        ax_curve.legend(fontsize=8)
        finish_axes(ax_drop, ax_curve)
    return name


STUDY = Study(
    name="ablation",
    summary="AlexNet with FC7, FC6+FC7, conv3+conv4+FC6+FC7 removed (Zeiler & Fergus): is depth key?",
    question="Zeiler & Fergus removed layers from AlexNet: FC7 cost 1.1 points, FC6+FC7 5.7, "
             "conv3+conv4+FC6+FC7 33.5. Does removing more layers cost more accuracy here too?",
    runs=tuple(Run(name, "alexnet_small", {"remove": cut} if cut else {}, per_setting=NARROW) for name, cut, _ in CUTS),
    quick=Setting(train_size=2000, epochs=3, test_size=1000, batch_size=64, lr=0.05, seeds=2, minutes=1.5),
    full=Setting(train_size=8000, epochs=6, test_size=None, batch_size=128, lr=0.05, seeds=3, minutes=30),
    analyse=analyse,
    notes="narrowed AlexNet (widths and dense width below the paper's) with the 3x3 stride-1 stem for 28x28 "
          "and batch norm after every conv, so that each variant gets close to convergence in a few epochs",
)
