"""Dropout: does it shrink the gap between training and test accuracy, and less so in a fully
convolutional net?

Lecture: dropout (Srivastava et al. 2014) regularises the big dense layers of AlexNet and VGG,
where most parameters are; it is "less useful for fully convolutional nets", whose few, shared
weights overfit less. Here, on a small training set (so that there is a gap to close), p = 0,
0.25, 0.5 on: the dense layers of a narrow AlexNet (small-input stem) and of a narrow VGG-11, and
a fully convolutional VGG-11 (`head=conv`: NiN's head, dropout on the last conv maps, a 1x1 conv to
the classes, global average pooling). NiN itself is too slow at 28x28 on 2 CPU cores (its 96-384
channel blocks: ~180 M multiply-adds per image), so the fully convolutional VGG stands in for it.
"""

from __future__ import annotations

from ..experiments.stats import compare, describe, rule_text
from .base import Analysis, Results, Run, Setting, Study
from .common import claim, errorbars, finish_axes, pct

RATES = (0.0, 0.25, 0.5)
# Batch norm after every conv (not on the dense layers, where dropout acts), so that each net trains
# in the few epochs available; without it these narrow nets barely leave chance in a quick run.
NETS = {"alexnet": ("alexnet_small", {"widths": (16, 32, 48, 48, 32), "hidden": 256, "batch_norm": True},
                    "dense layers"),
        "vgg": ("vgg11", {"width": 0.125, "hidden": 256, "batch_norm": True}, "dense layers"),
        "vgg-conv": ("vgg11", {"width": 0.125, "head": "conv", "batch_norm": True}, "fully convolutional")}


def _name(net: str, p: float) -> str:
    return f"{net}-p{int(p * 100):02d}"


def _runs() -> tuple[Run, ...]:
    return tuple(Run(_name(net, p), model, {**kwargs, "dropout": p}, group=net)
                 for net, (model, kwargs, _) in NETS.items() for p in RATES)


def analyse(results: Results) -> Analysis:
    rows, claims, lines, comparisons = [], [], [], []
    for net, (_, _, kind) in NETS.items():
        base = _name(net, 0.0)
        for p in RATES:
            name = _name(net, p)
            gap = compare(results.values(base, "gap"), results.values(name, "gap"))
            acc = compare(results.values(base, "test_acc"), results.values(name, "test_acc"))
            rows.append([net, kind, f"{p:g}", f"{results.info[name]['params']:,}",
                         pct(results.stat(name, "train_acc")), pct(results.stat(name, "test_acc")),
                         results.stat(name, "gap").fmt(1, scale=100), "-" if p == 0 else gap.verdict])
            if p:
                comparisons += [gap, acc]
                claims += [claim(f"{net}: gap, p={p} vs 0", gap), claim(f"{net}: test accuracy, p={p} vs 0", acc)]
        top = _name(net, RATES[-1])
        gap = compare(results.values(base, "gap"), results.values(top, "gap"))
        acc = compare(results.values(base, "test_acc"), results.values(top, "test_acc"))
        lines.append(f"- {net} ({kind}, {results.info[base]['params']:,} parameters): dropout {RATES[-1]} "
                     f"{describe(gap, 'moved the train-test gap by')}, "
                     f"{describe(acc, 'and test accuracy by')}.")
    top = RATES[-1]
    gap = {n: compare(results.values(_name(n, 0), "gap"), results.values(_name(n, top), "gap")) for n in NETS}
    acc = {n: compare(results.values(_name(n, 0), "test_acc"), results.values(_name(n, top), "test_acc"))
           for n in NETS}
    dense, conv = ("alexnet", "vgg"), "vgg-conv"
    lines.insert(0, "Gap = training accuracy (running, last epoch, with dropout active) minus test accuracy, "
                    "in points.")
    narrowed = [n for n in NETS if gap[n].diff < 0]
    lines.append(f"\nDropout {top} narrowed the gap in {len(narrowed)} of {len(NETS)} nets (changes "
                 + ", ".join(f"{n} {gap[n].diff * 100:+.1f}" for n in NETS) + " points).")
    held = all(acc[d].diff > acc[conv].diff for d in dense)
    verdict = ("less useful in the fully convolutional net than in the nets with dense layers, as the lecture says"
               if held else "not less useful in the fully convolutional net than in both dense ones: the lecture "
                            "did not hold here")
    undecided = all(acc[n].distinct is not True for n in NETS)
    lines.append(f"Judged by test accuracy, dropout {top} was {verdict} (changes "
                 + ", ".join(f"{n} {acc[n].diff * 100:+.1f}" for n in NETS) + " points)"
                 + ("; none of these changes stands out from the noise, so this is not decided here."
                    if undecided else "."))
    lines.append("\n" + rule_text(comparisons))
    figure = _figure(results)
    return Analysis(["net", "dropout on", "p", "parameters", "train accuracy %", "test accuracy %", "gap (points)",
                     "gap vs p=0"], rows, "\n".join(lines), [figure], claims,
                    notes=[("training accuracy is measured during the last epoch, dropout active (as the engine "
                           "logs it); the gap therefore includes dropout's own noise")])


def _figure(results: Results) -> str:
    name = "dropout.png"
    with results.figure(name, 1, 2, figsize=(11, 4)) as (_fig, (ax_gap, ax_acc)):
        for net in NETS:
            gaps = [results.stat(_name(net, p), "gap") for p in RATES]
            accs = [results.stat(_name(net, p), "test_acc") for p in RATES]
            errorbars(ax_gap, RATES, gaps, net)
            errorbars(ax_acc, RATES, accs, net)
        ax_gap.set(xlabel="dropout p", ylabel="train - test accuracy (points)", title="generalisation gap")
        ax_acc.set(xlabel="dropout p", ylabel="test accuracy %", title="test accuracy")
        finish_axes(ax_gap, ax_acc, legend=8)
    return name


STUDY = Study(
    name="dropout",
    summary="dropout 0 / 0.25 / 0.5 on AlexNet's and VGG's dense layers and a fully convolutional VGG: the gap",
    question="Does dropout shrink the train-test gap, and is it less useful in a fully convolutional net?",
    runs=_runs(),
    quick=Setting(train_size=1000, epochs=6, test_size=1000, batch_size=64, lr=0.05, seeds=1, minutes=2,
                  config={"precision": "fp32", "channels_last": False}),
    # 22 minutes: nine times the fastest (quietest) finished run of each net, 103 + 24 + 21 s.
    full=Setting(train_size=4000, epochs=12, test_size=None, batch_size=128, lr=0.05, seeds=3, minutes=22),
    analyse=analyse,
)
