"""Kernel size: several small kernels in series against one large one (VGG, Section 2.3 and 4.1).

Lecture: two stacked 3x3 convs see a 5x5 window, like one 5x5 conv, with 2 x 9 C^2 = 18 C^2
weights instead of 25 C^2 and one more non-linearity; VGG's net B beat its "shallow B" (each pair
of 3x3 convs replaced by one 5x5) by 7 points of top-1 error. Here: B and shallow B (`vgg13` and
`config=vgg13_5x5`), narrowed, at equal width.
"""

from __future__ import annotations

from ..experiments.stats import describe, rule_text
from .base import Analysis, Results, Run, Setting, Study
from .common import claim, compare_runs, dot_plot, finish_axes, pct, plot_mean_curves

# Batch norm in both (the vgg*_bn layout): without it these narrow VGGs train erratically in a few
# epochs, and the comparison would measure luck in optimisation, not the kernels.
WIDTH = {"quick": {"model_kwargs": {"width": 0.125, "hidden": 128, "batch_norm": True}},
         "full": {"model_kwargs": {"width": 0.25, "hidden": 256, "batch_norm": True}}}
RUNS = (Run("two-3x3", "vgg13", label="B: two 3x3 per stage", per_setting=WIDTH),
        Run("one-5x5", "vgg13", {"config": "vgg13_5x5"}, label="shallow B: one 5x5 per stage", per_setting=WIDTH))


def analyse(results: Results) -> Analysis:
    rows = []
    for run in RUNS:
        info = results.info[run.name]
        rows.append([run.name, run.title, str(info["layers"] - 3), f"{info['params']:,}", f"{info['macs'] / 1e6:.2f}M",
                     pct(results.stat(run.name, "train_acc")), pct(results.stat(run.name, "test_acc"))])
    c = compare_runs(results, "one-5x5", "two-3x3")
    small, large = results.info["two-3x3"], results.info["one-5x5"]
    lines = [(f"Two 3x3 convs against one 5x5 (same 5x5 receptive field, same widths): "
             f"{small['params'] / large['params']:.2f}x the parameters and {small['macs'] / large['macs']:.2f}x the "
             f"multiply-adds of the 5x5 net (the per-stage arithmetic: 18 C^2 against 25 C^2, except where the "
             f"first 3x3 of a pair changes the width); {describe(c, 'test accuracy of the 3x3 stack differs by')}."),
             "The lecture's claim (small kernels in series are better) "
             + ("held here." if c.distinct and c.diff > 0 else
                "did not hold here: the 5x5 net was better." if c.distinct else
                "is not decided here: the difference is within the noise." if c.distinct is False else
                "cannot be judged from one seed."),
             "", rule_text([c])]
    figure = _figure(results)
    return Analysis(["run", "net", "conv layers", "parameters", "MACs", "train accuracy %", "test accuracy %"],
                    rows, "\n".join(lines), [figure], [claim("two 3x3 vs one 5x5 test accuracy", c)],
                    notes=[f"vgg13 and vgg13_5x5 with {WIDTH[results.setting_name]['model_kwargs']}, 28x28 input"])


def _figure(results: Results) -> str:
    name = "kernel.png"
    with results.figure(name, 1, 2, figsize=(10, 4)) as (_fig, (ax_bar, ax_curve)):
        dot_plot(ax_bar, results, [r.name for r in RUNS])
        ax_bar.set_xticks(range(len(RUNS)), [f"{r.name}\n{results.info[r.name]['params']:,} params" for r in RUNS])
        ax_bar.set(ylabel="test accuracy % (mean ± sd; grey: seeds)", title="two 3x3 vs one 5x5")
        plot_mean_curves(ax_curve, results, [r.name for r in RUNS])
        ax_curve.set(xlabel="epoch", ylabel="test accuracy %", title="test accuracy per epoch")
        ax_curve.legend()
        finish_axes(ax_bar, ax_curve)
    return name


STUDY = Study(
    name="kernel",
    summary="VGG's B (two 3x3 convs per stage) against shallow B (one 5x5): parameters, MACs, accuracy",
    question="Do several small kernels in series beat one large kernel with the same receptive field?",
    runs=RUNS,
    quick=Setting(train_size=3000, epochs=4, test_size=1000, batch_size=64, lr=0.05, seeds=2, minutes=1.5),
    full=Setting(train_size=10000, epochs=10, test_size=None, batch_size=128, lr=0.05, seeds=3, minutes=15),
    analyse=analyse,
)
