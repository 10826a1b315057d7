#!/bin/sh
# Reproduce the pretrained models that ship in src/convzoo/pretrained/ (docs/demo.md):
#   digits:  lenet_wide on mnist-sample (the 10,000 real MNIST digits that ship with convzoo),
#            1,000 of them held out (seed 0) for the model card;
#   fashion: the `best` recipe's seed 0 (fastnet 16,64,128, 32 epochs; ~25 min on 2 cores with bf16) on
#            Fashion-MNIST (60,000 train; the 10,000 official test images read once, after the last epoch).
# Each run is exported without optimizer/RNG state (< 2 MB) with a model card beside it that
# records the exact command below. Usage: sh scripts/train-pretrained.sh
set -e
convzoo="${CONVZOO:-.venv/bin/convzoo}"
out="${RUNS:-runs/pretrained}"
dest=src/convzoo/pretrained
rm -rf "$out/digits" "$out/fashion"

digits="convzoo train lenet_wide --data mnist-sample --test-holdout 1000 --epochs 20 --batch-size 128 --lr 0.1 --schedule onecycle --nesterov --augment crop2 --label-smoothing 0.05 --seed 0"
fashion="convzoo train --recipe best --seed 0 --test-once"

# shellcheck disable=SC2086  # the commands are word lists on purpose: the card records them verbatim
"$convzoo" ${digits#convzoo } --out "$out/digits"
"$convzoo" export "$out/digits" --format checkpoint -o "$dest/digits.pt" --command "$digits"
# shellcheck disable=SC2086
"$convzoo" ${fashion#convzoo } --out "$out/fashion"
"$convzoo" export "$out/fashion" --format checkpoint -o "$dest/fashion.pt" --command "$fashion"

"$convzoo" eval digits --data mnist-sample
"$convzoo" eval fashion
