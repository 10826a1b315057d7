"""The Markdown table of docs/speedrun.md's "Compute to an accuracy" from the records that
scripts/compute-to-accuracy.sh wrote (OUT/RECIPE.json, `convzoo bench recipe --val-split --to --json`).
Usage: python scripts/compute_to_accuracy_table.py [OUT]      (default runs/compute-to-accuracy)"""

import json
import sys
from pathlib import Path

out = Path(sys.argv[1] if len(sys.argv) > 1 else "runs/compute-to-accuracy")
# named by file: best-2026-12.json was `bench recipe best` before best moved to the wider net (its
# record says "best")
NAMES = ("d2l-lenet", "fast", "accurate", "best-2026-12", "best")
records = [{**json.loads((out / f"{name}.json").read_text()), "label": name} for name in NAMES
           if (out / f"{name}.json").is_file()]
if not records:
    sys.exit(f"no records in {out}: run scripts/compute-to-accuracy.sh first")
thresholds = [row["threshold"] for row in records[0]["thresholds"]]


def flop(x):
    if not x:
        return "0"
    return f"{x / 1e12:.2f} TFLOP" if x >= 1e12 else f"{x / 1e9:.0f} GFLOP"


def cell(row):
    if not row["reached"]:
        return f"not reached (best {row['best_val_accuracy']:.4f})"
    epochs, images, flops = row["epochs"], row["images_seen"], row["train_flops"]
    seeds = "" if row["reached"] == row["seeds"] else f" ({row['reached']} of {row['seeds']} seeds)"
    return (f"epoch {epochs['mean']:.1f} ± {epochs['sd']:.1f}: {images['mean']:,.0f} ± {images['sd']:,.0f} images, "
            f"{flop(flops['mean'])} ± {flop(flops['sd'])}{seeds}")


print("| recipe | test accuracy (read once, 3 seeds) | " + " | ".join(f"to {t:.2f}" for t in thresholds) + " |")
print("|---|---|" + "---|" * len(thresholds))
for record in records:
    rows = {row["threshold"]: row for row in record["thresholds"]}
    total = f"{record['compute']['images_seen']:,} images, {flop(record['compute']['train_flops'])}"
    print(f"| `{record['label']}` ({total}) | {record['mean']:.4f} ± {record['sd']:.4f} | "
          + " | ".join(cell(rows[t]) for t in thresholds) + " |")
print(f"\n{records[0]['machine']['cpu']}, {records[0]['machine']['threads']} threads, torch "
      f"{records[0]['machine']['torch']}; commit {records[0]['commit']}")
