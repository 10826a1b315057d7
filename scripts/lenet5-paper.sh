#!/bin/sh
# LeNet-5 (1998) trained as its paper trained it (docs/baselines.md): the recipe over 3 seeds, the
# ablation (one change at a time, seed 0), the learning curve (seed 0) and their summary and figure.
# Each run is `convzoo train --recipe lenet5-paper ...` into OUT/NAME; a finished run is kept.
# Usage: sh scripts/lenet5-paper.sh [OUT]      (default runs/lenet5-paper; about 2 h on 2 cores)
set -e
convzoo="${CONVZOO:-.venv/bin/convzoo}"
out="${1:-runs/lenet5-paper}"
run() {
    name="$1"; shift
    [ -f "$out/$name/eval.json" ] && return 0
    "$convzoo" train --recipe lenet5-paper --threads "${THREADS:-2}" --no-progress --out "$out/$name" "$@"
}
for seed in 0 1 2; do run "paper-s$seed" --seed "$seed"; done
run paper-eta --seed 0 --lr 0.0005 --epochs 2              # the paper's own eta
for n in 1000 2000 4000; do run "size-$n" --seed 0 --train-size "$n"; done
run init-sqrt --seed 0 --model-arg init=sqrt --lr 0.0005    # +-sqrt(3/fan-in), the paper's eta
run head-linear --seed 0 --model-arg head=linear            # 84 -> 10 linear logits, same MAP loss
run opt-sgd --seed 0 --optimizer sgd --momentum 0 --lr 0.008  # SDLM's largest step for every weight
run size-6000 --seed 0 --train-size 6000
run distort-s0 --seed 0 --augment planar                    # = the lenet5-paper-distort recipe
run sqrt-distort --seed 0 --model-arg init=sqrt --lr 0.0005 --augment planar
"${PYTHON:-.venv/bin/python}" scripts/lenet5_summary.py "$out"
