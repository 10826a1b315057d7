"""Normalisation layers before batch norm: local contrast (2009), local response (2012), batch (2015).

Lectures: Jarrett et al. (ICCV 2009) found local contrast normalisation (subtract the local mean
across maps, divide by the local standard deviation) "the single most important ingredient" of
their two-stage nets; AlexNet's local response normalisation cut its top-1 error by 1.4 points
(Krizhevsky et al. 2012, sec. 3.3); VGG found LRN did not help (Table 3, A against A-LRN); batch
norm replaced both. Here: one narrow AlexNet (small-input stem, `alexnet_small`'s `widths` and
`hidden`) with nothing, LRN or LCN in AlexNet's two slots (after conv1 and conv2:
`norm=none|lrn|lcn`), and with BN after every conv instead (`batch_norm=True`, `norm=none`).
"""

from __future__ import annotations

from ..experiments.stats import describe, family, rule_text
from .base import Analysis, Results, Run, Setting, Study
from .common import claim, finish_axes, pct, plot_mean_curves, points

# (run name, builder options, what the lectures say of it)
VARIANTS = [
    ("none", {"norm": "none"}, "no normalisation: the reference"),
    ("lrn", {"norm": "lrn"}, "AlexNet 2012: -1.4 points top-1 error; VGG 2015: no gain"),
    ("lcn", {"norm": "lcn"}, "Jarrett et al. 2009: the most important ingredient"),
    ("bn", {"norm": "none", "batch_norm": True}, "Ioffe & Szegedy 2015: replaced both"),
]
NARROW = {"quick": {"model_kwargs": {"widths": (16, 32, 48, 48, 32), "hidden": 256}},
          "full": {"model_kwargs": {"widths": (24, 48, 72, 72, 48), "hidden": 384}}}
RUNS = tuple(Run(name, "alexnet_small", kwargs, label=name, per_setting=NARROW) for name, kwargs, _ in VARIANTS)


def analyse(results: Results) -> Analysis:
    rows, claims, comparisons, lines = [], [], [], []
    # three pairs against none, tested together: Holm-adjusted p-values
    tests = family({name: (results.values("none", "test_acc"), results.values(name, "test_acc"))
                    for name, _, _ in VARIANTS[1:]})
    none = results.stat("none", "test_acc")
    lines.append(f"Narrow AlexNet without normalisation: {pct(none)} % test accuracy.")
    for name, kwargs, lecture in VARIANTS:
        info = results.info[name]
        cells = [name, ", ".join(f"{k}={v}" for k, v in kwargs.items()), f"{info['params']:,}",
                 pct(results.stat(name, "train_acc")), pct(results.stat(name, "test_acc"))]
        if name == "none":
            rows.append([*cells, "-", "-", lecture])
            continue
        c = tests[name]
        rows.append([*cells, points(c), c.verdict, lecture])
        comparisons.append(c)
        claims.append(claim(f"{name} against none, test accuracy", c))
        lines.append(f"- {name.upper()} against none: {describe(c, 'test accuracy')}.")
    helped = [name for (name, _, _), c in zip(VARIANTS[1:], comparisons) if c.distinct and c.diff > 0]
    lines.append("\nBeyond the noise, better than no normalisation: " + (", ".join(helped) if helped else "none of them")
                 + f". {len(comparisons)} pairs are tested together: their p-values are Holm-adjusted.")
    lines.append("\n" + rule_text(comparisons))
    figure = _figure(results)
    return Analysis(["run", "options", "parameters", "train accuracy %", "test accuracy %",
                     "change (points)", "noise", "lectures"], rows, "\n".join(lines), [figure], claims,
                    notes=[f"narrow AlexNet, small-input stem: {NARROW[results.setting_name]['model_kwargs']}",
                           ("LCN: 9x9 Gaussian window, sigma 2, across all maps (layers/contrast.py); LRN: "
                            "AlexNet's constants (k=2, n=5, alpha=1e-4, beta=0.75)")])


def _figure(results: Results) -> str:
    name = "norm.png"
    with results.figure(name, 1, 2, figsize=(10, 4)) as (_fig, (ax_dots, ax_curve)):
        stats = [results.stat(r.name, "test_acc") for r in RUNS]  # separate runs: dots, no line between
        ax_dots.errorbar(range(len(RUNS)), [s.mean * 100 for s in stats], fmt="o", capsize=4,
                         yerr=[s.sd * 100 if s.n > 1 else 0.0 for s in stats])
        chance = results.records[0].chance if results.records else 0.1
        ax_dots.axhline(chance * 100, color="grey", linestyle=":", label="chance")
        ax_dots.set_xticks(range(len(RUNS)), [r.name for r in RUNS])
        ax_dots.set_ylim(0, 100)
        ax_dots.legend(fontsize=8)
        ax_dots.set(ylabel="test accuracy % (mean ± sd over seeds)", title="normalisation layers")
        plot_mean_curves(ax_curve, results, [r.name for r in RUNS])
        ax_curve.set(xlabel="epoch", ylabel="test accuracy % (mean over seeds)", title="test accuracy")
        ax_curve.legend(fontsize=8)
        finish_axes(ax_dots, ax_curve)
    return name


STUDY = Study(
    name="norm",
    summary="AlexNet with no normalisation, LRN, local contrast normalisation, or batch norm",
    question="LCN (Jarrett 2009) and LRN (AlexNet 2012) normalised the early nets, and batch norm replaced "
             "them. Does either help a narrow AlexNet, and by how much against BN?",
    runs=RUNS,
    quick=Setting(train_size=2000, epochs=3, test_size=1000, batch_size=64, lr=0.05, seeds=2, minutes=2),
    full=Setting(train_size=8000, epochs=6, test_size=None, batch_size=128, lr=0.05, seeds=3, minutes=30),
    analyse=analyse,
    notes="narrowed AlexNet with the 3x3 stride-1 stem for 28x28; no BN except in the bn run, which is the "
          "question here",
)
