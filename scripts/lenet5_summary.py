"""Summarise scripts/lenet5-paper.sh's runs: the final test error of each, the 3 seeds' mean and
sd, and the learning curve with a power law err = a * n^-b fitted to it (least squares in log-log,
from FIT_FROM digits: the 1,000-digit run ends at 79 % training accuracy, short of steps rather
than of data) and extrapolated to MNIST's 60,000 training digits. Writes OUT/summary.json and the figure
docs/baselines/lenet5-learning-curve.png. Usage: python scripts/lenet5_summary.py OUT"""

import json
import statistics
import sys
from pathlib import Path

import numpy as np

FIT_FROM = 2000
out = Path(sys.argv[1])
errors = {}
for run in sorted(p for p in out.iterdir() if (p / "eval.json").is_file()):
    errors[run.name] = 100 * (1 - json.loads((run / "eval.json").read_text())["accuracy"])
seeds = [errors[f"paper-s{s}"] for s in range(3) if f"paper-s{s}" in errors]
curve = sorted((int(k.split("-")[1]), v) for k, v in errors.items() if k.startswith("size-"))
if "paper-s0" in errors:
    curve.append((9000, errors["paper-s0"]))
n, err = np.array(curve, dtype=float).T
fitted = n >= FIT_FROM
slope, intercept = np.polyfit(np.log(n[fitted]), np.log(err[fitted]), 1)
at = {size: float(np.exp(intercept) * size ** slope) for size in (9000, 60000)}
summary = {"errors": errors, "seeds": seeds, "mean": statistics.mean(seeds) if seeds else None,
           "sd": statistics.stdev(seeds) if len(seeds) > 1 else None, "curve": curve,
           "power_law": {"fit_from": FIT_FROM, "a": float(np.exp(intercept)), "b": float(-slope), "fit_at": at}}
(out / "summary.json").write_text(json.dumps(summary, indent=2))
print(json.dumps(summary, indent=2))

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(6.5, 4))
ax.loglog(n, err, "o", label="measured (lenet5-paper, seed 0, 20 epochs)")
grid = np.geomspace(FIT_FROM, 60000, 50)
ax.loglog(grid, np.exp(intercept) * grid ** slope, "--",
          label=f"power law {np.exp(intercept):.0f} n^-{-slope:.2f}, fitted from {FIT_FROM:,} (extrapolated past 9,000)")
ax.loglog([60000], [0.95], "*", markersize=12, label="paper: 0.95 % on 60,000")
ax.set_xlabel("training digits (log)")
ax.set_ylabel("test error % (log)")
ax.set_title("LeNet-5 as its paper trained it: error against training-set size")
ax.grid(True, which="both", alpha=0.3)
ax.legend(fontsize=8)
fig.tight_layout()
fig.savefig("docs/baselines/lenet5-learning-curve.png", dpi=90)
