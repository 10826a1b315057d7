#!/bin/sh
# Regenerate rows of the zoo table (docs/zoo.md): each row is trained by its recipe (zoo-ROW),
# seed by seed under runs/zoo/ROW/seedK (a finished seed is kept, an interrupted one continues),
# then its weights, model card and metrics.jsonl are published (small weights into
# src/convzoo/zoo/weights/, large ones into runs/zoo/publish/ and the manifest).
# Usage: sh scripts/train-zoo.sh [ROW...]      (no ROW: every row, cheapest first)
#        THREADS=2 sh scripts/train-zoo.sh resnet20
set -e
convzoo="${CONVZOO:-.venv/bin/convzoo}"
threads="${THREADS:-1}"
rows="$*"
if [ -z "$rows" ]; then
    rows="mlp lenet lenet-bn lenet-1998 vgg-a shufflenet-v2 fastnet alexnet resnext vgg-d resnet18 resnet20
          se-resnet densenet-bc wide-resnet shufflenet-v1 resnet56 nin googlenet"
fi
for row in $rows; do
    "$convzoo" zoo --train "$row" --threads "$threads"
done
"$convzoo" zoo
