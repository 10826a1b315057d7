"""Dropout: does it shrink the gap between training and test accuracy, and less so in a fully
convolutional net?

Lecture: dropout (Srivastava et al. 2014) regularises the big dense layers of AlexNet and VGG,
where most parameters are; it is "less useful for fully convolutional nets", whose few, shared
weights overfit less. Here, on a small training set (so that there is a gap to close), p = 0,
0.25, 0.5 on: the dense layers of a narrow AlexNet (small-input stem) and of a narrow VGG-11, and
a fully convolutional VGG-11 (`head=conv`: NiN's head, dropout on the last conv maps, a 1x1 conv to
the classes, global average pooling). NiN itself is too slow at 28x28 on 2 CPU cores (its 96-384
channel blocks: ~180 M multiply-adds per image), so the fully convolutional VGG stands in for it.
The gap is the trained net's accuracy on its own training set minus its test accuracy, both in
eval mode (dropout off): the running training accuracy the engine logs is taken with dropout on,
which lowers it by itself. The pairs tested are Holm-adjusted together.
"""

from __future__ import annotations

from ..experiments.stats import describe, family, rule_text, stat
from .base import Analysis, Measurement, Results, Run, Setting, Study
from .common import claim, errorbars, finish_axes, pct
from .probe import eval_accuracy

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


def measure(m: Measurement) -> dict:
    """The trained net on its whole training subset, in eval mode."""
    train = m.data.train
    return {"train_acc_eval": eval_accuracy(m.model, m.normalise(train.images), train.labels)}


def _gaps(results: Results, run: str) -> list[float]:
    """Per seed: eval-mode training accuracy minus test accuracy (a diverged run: 0)."""
    gaps = []
    for r in results.of(run):
        if r.status == "diverged":
            gaps.append(0.0)
        elif r.status == "finished" and "train_acc_eval" in r.measurements:
            gaps.append(r.measurements["train_acc_eval"] - r.metric("test_acc"))
    return gaps


def analyse(results: Results) -> Analysis:
    pairs = {}
    for net in NETS:
        base = _name(net, 0.0)
        for p in RATES[1:]:
            pairs[(net, p, "gap")] = (_gaps(results, base), _gaps(results, _name(net, p)))
            pairs[(net, p, "acc")] = (results.values(base, "test_acc"), results.values(_name(net, p), "test_acc"))
    tested = family(pairs)
    rows, claims, lines = [], [], []
    for net, (_, _, kind) in NETS.items():
        for p in RATES:
            name = _name(net, p)
            train_eval = stat([r.measurements.get("train_acc_eval") for r in results.of(name)])
            rows.append([net, kind, f"{p:g}", f"{results.info[name]['params']:,}", pct(train_eval),
                         pct(results.stat(name, "train_acc")), pct(results.stat(name, "test_acc")),
                         stat(_gaps(results, name)).fmt(1, scale=100), "-" if p == 0 else tested[(net, p, "gap")].verdict])
            if p:
                claims += [claim(f"{net}: gap, p={p} vs 0", tested[(net, p, "gap")]),
                           claim(f"{net}: test accuracy, p={p} vs 0", tested[(net, p, "acc")])]
        top = RATES[-1]
        lines.append(f"- {net} ({kind}, {results.info[_name(net, 0)]['params']:,} parameters): dropout {top} "
                     f"{describe(tested[(net, top, 'gap')], 'moved the train-test gap by')}, "
                     f"{describe(tested[(net, top, 'acc')], 'and test accuracy by')}.")
    top = RATES[-1]
    gap = {n: tested[(n, top, "gap")] for n in NETS}
    acc = {n: tested[(n, top, "acc")] for n in NETS}
    dense, conv = ("alexnet", "vgg"), "vgg-conv"
    lines.insert(0, "Gap = accuracy on the training subset minus test accuracy, both in eval mode (dropout off), "
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
    lines.append("\n" + rule_text(list(tested.values())))
    figure = _figure(results)
    return Analysis(["net", "dropout on", "p", "parameters", "train accuracy % (eval mode)",
                     "train accuracy % (running, dropout on)", "test accuracy %", "gap (points)", "gap vs p=0"],
                    rows, "\n".join(lines), [figure], claims,
                    notes=[("gap = eval-mode accuracy on the training subset minus test accuracy; the running "
                           "training accuracy (dropout active, as the engine logs it) is shown beside it")])


def _figure(results: Results) -> str:
    name = "dropout.png"
    with results.figure(name, 1, 2, figsize=(11, 4)) as (_fig, (ax_gap, ax_acc)):
        for net in NETS:
            gaps = [stat(_gaps(results, _name(net, p))) for p in RATES]
            accs = [results.stat(_name(net, p), "test_acc") for p in RATES]
            errorbars(ax_gap, RATES, gaps, net)
            errorbars(ax_acc, RATES, accs, net)
        ax_gap.set(xlabel="dropout p", ylabel="train - test accuracy (points, eval mode)",
                   title="generalisation gap (dropout off when measured)")
        ax_acc.set(xlabel="dropout p", ylabel="test accuracy %", title="test accuracy", ylim=(0, 100))
        finish_axes(ax_gap, ax_acc, legend=8)
    return name


STUDY = Study(
    name="dropout",
    summary="dropout 0 / 0.25 / 0.5 on AlexNet's and VGG's dense layers and a fully convolutional VGG: the gap",
    question="Does dropout shrink the train-test gap, and is it less useful in a fully convolutional net?",
    runs=_runs(),
    measure=measure,
    quick=Setting(train_size=1000, epochs=6, test_size=1000, batch_size=64, lr=0.05, seeds=1, minutes=2),
    # 22 minutes: nine times the fastest (quietest) finished run of each net, 103 + 24 + 21 s.
    full=Setting(train_size=4000, epochs=12, test_size=None, batch_size=128, lr=0.05, seeds=3, minutes=22),
    analyse=analyse,
)
