#!/bin/sh
# Images seen and training FLOPs to a validation accuracy, over 3 seeds (docs/speedrun.md, "Compute to
# an accuracy"): each recipe's runs hold 5,000 of Fashion-MNIST's 60,000 training images out as a
# validation set, evaluate it after every epoch, and read the test set once, after the last epoch.
# Usage: sh scripts/compute-to-accuracy.sh [OUT]     (default runs/compute-to-accuracy)
# Cost on the 2-core Zen 4 VM, bf16: d2l-lenet and fast a few minutes each, accurate ~15, best-2026-12
# ~27 (the `best` of 2026-12-07), best (the wider net) ~70.
set -e
convzoo="${CONVZOO:-.venv/bin/convzoo}"
out="${1:-runs/compute-to-accuracy}"
mkdir -p "$out"
for recipe in d2l-lenet fast accurate best-2026-12 best; do
    [ -f "$out/$recipe.json" ] && continue   # a finished record is kept: a rerun resumes
    "$convzoo" bench recipe "$recipe" --seeds 0,1,2 --threads 2 --val-split 0.08333 \
        --to 0.85,0.90,0.92,0.93,0.94,0.95 --json > "$out/$recipe.json.part" 2> "$out/$recipe.log"
    mv "$out/$recipe.json.part" "$out/$recipe.json"
done
