"""Depth: VGG's configurations A, B, D, E (Simonyan & Zisserman 2015), and plain against residual
nets of increasing depth (He et al. 2016, Figure 6).

Lecture: the "revolution of depth" — deeper VGGs are better (A 11 layers -> E 19); but a plain
net, stacked deeper, gets *worse*, and not from overfitting: its training error rises too
("degradation"). Shortcuts fix it. Here: narrowed VGGs (width 1/8, dense width 128, 28x28 inputs
where the fifth pool is skipped) and the CIFAR ResNet family (`resnet20` with `depth` 6n+2 and
`residual` on/off, width 8), every net with batch norm except the VGGs (as in the papers).
"""

from __future__ import annotations

import itertools

from ..experiments.stats import describe, family, rule_text
from .base import Analysis, Results, Run, Setting, Study
from .common import claim, errorbars, finish_axes, mean_curve, pct

VGGS = [("vgg-A", "vgg11"), ("vgg-B", "vgg13"), ("vgg-D", "vgg16"), ("vgg-E", "vgg19")]
# With batch norm (the vgg*_bn layout): the paper trained its deep columns without it only by
# initialising them from the trained A, which a from-scratch comparison in a few epochs cannot do.
VGG_KWARGS = {"width": 0.125, "hidden": 128, "batch_norm": True}
DEPTHS = {"quick": (8, 20), "full": (8, 20, 32)}
RESNET_WIDTH = 8


def _runs() -> tuple[Run, ...]:
    runs = [Run(name, model, VGG_KWARGS, label=name, group="vgg") for name, model in VGGS]
    for depth in sorted(set(DEPTHS["quick"]) | set(DEPTHS["full"])):
        settings = tuple(s for s in ("quick", "full") if depth in DEPTHS[s])
        for residual in (False, True):
            kind = "residual" if residual else "plain"
            runs.append(Run(f"{kind}-{depth}", "resnet20", {"depth": depth, "width": RESNET_WIDTH,
                                                            "residual": residual},
                            group=kind, settings=settings))
    return tuple(runs)


def analyse(results: Results) -> Analysis:
    rows, claims, lines = [], [], []
    for run in results.runs:
        info = results.info[run.name]
        c_train = results.stat(run.name, "train_acc")
        rows.append([run.name, run.model, str(info["layers"]), f"{info['params']:,}", f"{info['macs'] / 1e6:.1f}M",
                     pct(_error(c_train)), pct(results.stat(run.name, "test_acc"))])
    depths = DEPTHS[results.setting_name]
    shallow, deep = depths[0], depths[-1]
    tested = family({  # the four pairs of the finding, Holm-adjusted together
        "vgg": (results.values("vgg-A", "test_acc"), results.values("vgg-E", "test_acc")),
        "plain": (results.values(f"plain-{shallow}", "train_acc"), results.values(f"plain-{deep}", "train_acc")),
        "residual": (results.values(f"plain-{deep}", "train_acc"), results.values(f"residual-{deep}", "train_acc")),
        "test": (results.values(f"plain-{deep}", "test_acc"), results.values(f"residual-{deep}", "test_acc"))})
    vgg_cmp, plain_cmp, res_cmp, test_cmp = tested.values()
    claims.append(claim("vgg E vs A test accuracy", vgg_cmp))
    means = [results.stat(name, "test_acc").mean for name, _ in VGGS]
    rising = all(a <= b for a, b in itertools.pairwise(means))
    lines.append("VGG, A (11 layers) to E (19 layers): test accuracy "
                 + " -> ".join(f"{m * 100:.1f}" for m in means) + " %; "
                 + describe(vgg_cmp, "E against A") + ". "
                 + ("Deeper was better at every step here." if rising else
                    "Deeper was not better at every step here (the lecture's trend did not hold in order)."))
    claims += [claim(f"plain {deep} vs plain {shallow} training accuracy", plain_cmp),
               claim(f"residual {deep} vs plain {deep} training accuracy", res_cmp),
               claim(f"residual {deep} vs plain {deep} test accuracy", test_cmp)]
    degraded = plain_cmp.diff < 0
    if degraded and plain_cmp.distinct:
        verdict = "the deeper plain net fits its own training data worse: degradation, as in the lecture."
    elif degraded and plain_cmp.distinct is None:
        verdict = "the deeper plain net fits its own training data worse (degradation), from one seed only."
    elif degraded:
        verdict = "the deeper plain net fits its training data worse, but within the noise here."
    else:
        verdict = "no degradation of the deeper plain net here."
    lines.append(f"\nPlain nets, {shallow} -> {deep} layers: training accuracy {describe(plain_cmp, 'changed by')}: "
                 + verdict)
    lines.append(f"Residual against plain at {deep} layers: training accuracy {describe(res_cmp, 'differs by')}; "
                 f"test accuracy {describe(test_cmp, 'differs by')}.")
    lines.append("\nTraining accuracy is the running accuracy over the last epoch (in training mode), as the "
                 "papers' training-error curves are.")
    lines.append(rule_text([vgg_cmp, plain_cmp, res_cmp, test_cmp]))
    figure = _figure(results, depths)
    return Analysis(["run", "model", "weight layers", "parameters", "MACs", "training error %", "test accuracy %"],
                    rows, "\n".join(lines), [figure], claims,
                    notes=[(f"VGG options {VGG_KWARGS} (dropout 0.5 as in the paper, batch norm as in vgg*_bn); "
                            f"CIFAR ResNets of width "
                           f"{RESNET_WIDTH} (the paper's is 16), option A shortcuts, with batch norm")])


def _error(s):
    from ..experiments.stats import Stat

    return Stat(1 - s.mean, s.sd, s.n)


def _figure(results: Results, depths) -> str:
    name = "depth.png"
    with results.figure(name, 1, 3, figsize=(15, 4)) as (_fig, (ax_vgg, ax_deg, ax_curve)):
        layers = [results.info[n]["layers"] for n, _ in VGGS]
        stats = [results.stat(n, "test_acc") for n, _ in VGGS]
        errorbars(ax_vgg, layers, stats)
        for (label, _), x, s in zip(VGGS, layers, stats):
            ax_vgg.annotate(label[-1], (x, s.mean * 100), textcoords="offset points", xytext=(4, 4))
        ax_vgg.set(xlabel="weight layers", ylabel="test accuracy %", title="VGG A, B, D, E")
        for kind in ("plain", "residual"):
            err = [_error(results.stat(f"{kind}-{d}", "train_acc")) for d in depths]
            errorbars(ax_deg, depths, err, f"{kind}: training error")
            test = [_error(results.stat(f"{kind}-{d}", "test_acc")) for d in depths]
            ax_deg.plot(depths, [e.mean * 100 for e in test], "--", marker="s", label=f"{kind}: test error")
        ax_deg.set(xlabel="layers", ylabel="error %", title="plain vs residual")
        for d in depths:
            for kind, style in (("plain", "--"), ("residual", "-")):
                epochs, acc = mean_curve(results, f"{kind}-{d}", "train_acc")
                ax_curve.plot(epochs, [100 * (1 - a) for a in acc], style, label=f"{kind}-{d}")
        ax_curve.set(xlabel="epoch", ylabel="training error %", title="training error (He et al. Fig. 6)")
        finish_axes(ax_vgg)
        finish_axes(ax_deg, ax_curve, legend=8)
    return name


STUDY = Study(
    name="depth",
    summary="VGG A/B/D/E, and plain vs residual nets of growing depth: deeper is better, until it degrades",
    question="Are deeper VGGs better, and does a deeper plain net fit even its training data worse "
             "(degradation) where a residual net of the same depth does not?",
    runs=_runs(),
    quick=Setting(train_size=1500, epochs=3, test_size=1000, batch_size=64, lr=0.05, seeds=1, minutes=2),
    full=Setting(train_size=5000, epochs=6, test_size=None, batch_size=128, lr=0.05, seeds=3, minutes=20),
    analyse=analyse,
    notes="narrowed VGGs and width-8 CIFAR ResNets on 28x28 Fashion-MNIST",
)
