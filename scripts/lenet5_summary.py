"""Summarise scripts/lenet5-paper.sh's runs: the final test error of each, the mean and sd over the
seeds of the recipe (paper-sN) and of its distorted version (distort-sN), and the learning curve
(size-N and `short`, the recipe's seed 0 on all 9,000 digits: every point 180,000 digits seen, 3 of
the paper's passes) with a power
law err = a * n^-b fitted to it (least squares in log-log) and extrapolated to MNIST's 60,000
training digits. Writes OUT/summary.json and docs/baselines/lenet5-learning-curve.png.
Usage: python scripts/lenet5_summary.py OUT"""

import json
import statistics
import sys
from pathlib import Path

import numpy as np


def spread(values):
    return {"runs": values, "mean": statistics.mean(values) if values else None,
            "sd": statistics.stdev(values) if len(values) > 1 else None}


out = Path(sys.argv[1])
errors = {}
for run in sorted(p for p in out.iterdir() if (p / "eval.json").is_file()):
    errors[run.name] = 100 * (1 - json.loads((run / "eval.json").read_text())["accuracy"])
seeds = {kind: spread([errors[f"{kind}-s{s}"] for s in range(3) if f"{kind}-s{s}" in errors])
         for kind in ("paper", "distort")}
curve = sorted((int(k.split("-")[1]), v) for k, v in errors.items() if k.startswith("size-"))
if "short" not in errors and (out / "paper-s0" / "metrics.jsonl").is_file():
    # the schedule depends on digits seen only, so the recipe's run after 20 epochs is the 20-epoch run
    rows = [json.loads(line) for line in (out / "paper-s0" / "metrics.jsonl").read_text().splitlines()]
    errors["short"] = next(100 * (1 - r["test_acc"]) for r in rows if r["epoch"] == 20)
if "short" in errors:
    curve.append((9000, errors["short"]))
n, err = np.array(curve, dtype=float).T
slope, intercept = np.polyfit(np.log(n), np.log(err), 1)
at = {size: float(np.exp(intercept) * size ** slope) for size in (9000, 60000)}
summary = {"errors": errors, "seeds": seeds, "curve": curve,
           "power_law": {"a": float(np.exp(intercept)), "b": float(-slope), "fit_at": at}}
(out / "summary.json").write_text(json.dumps(summary, indent=2))
print(json.dumps(summary, indent=2))

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(6.5, 4))
ax.loglog(n, err, "o", label="measured (lenet5-paper, seed 0, 180,000 digits seen each)")
grid = np.geomspace(n.min(), 60000, 50)
ax.loglog(grid, np.exp(intercept) * grid ** slope, "--",
          label=f"power law {np.exp(intercept):.0f} n^-{-slope:.2f} (extrapolated past 9,000)")
ax.loglog([60000], [0.95], "*", markersize=12, label="paper: 0.95 % on 60,000 (20 passes, 1.2 M digits)")
ax.set_xlabel("training digits (log)")
ax.set_ylabel("test error % (log)")
ax.set_yticks([0.5, 1, 2, 3, 5, 10], ["0.5", "1", "2", "3", "5", "10"])  # plain numbers, not 4x10^0
ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
ax.set_ylim(0.7, 6)
ax.set_title("LeNet-5 as its paper trained it: error against training-set size")
ax.grid(True, which="both", alpha=0.3)
ax.legend(fontsize=8)
fig.tight_layout()
fig.savefig("docs/baselines/lenet5-learning-curve.png", dpi=90)
