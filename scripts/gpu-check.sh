#!/bin/sh
# The GPU path, checked on a machine with a CUDA build of torch, from a source checkout without
# installing convzoo (PYTHONPATH=src): trains `--recipe fast` on one GPU, then the same through a
# 1-process torchrun with nccl, and prints accuracy and examples/s of each.
#   usage: scripts/gpu-check.sh DATA_DIR [OUT_DIR]
# DATA_DIR holds Fashion-MNIST's four IDX files (e.g. /usr/share/datasets/fashion-mnist).
set -eu
cd "$(dirname "$0")/.."
data="${1:?usage: scripts/gpu-check.sh DATA_DIR [OUT_DIR]  (DATA_DIR: Fashion-MNIST IDX files)}"
out="${2:-${TMPDIR:-/tmp}/convzoo-gpu-check}"
export PYTHONPATH=src
python=${PYTHON:-python3}

"$python" - <<'PY'
import importlib, sys
import torch
missing = [m for m in ("numpy", "tqdm", "matplotlib", "PIL", "safetensors") if importlib.util.find_spec(m) is None]
if missing:
    sys.exit(f"gpu-check: missing Python packages: {', '.join(missing)}")
if not torch.cuda.is_available():
    sys.exit(f"gpu-check: torch {torch.__version__} sees no CUDA GPU")
print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, {torch.cuda.get_device_name(0)}, "
      f"bf16 {'yes' if torch.cuda.is_bf16_supported() else 'no'}")
PY

rm -rf "$out"
common="--recipe fast --data fashion-mnist --data-dir $data --device cuda --no-progress"
echo "== one GPU, one process"
"$python" -m convzoo train $common --out "$out/single"
echo "== torchrun, 1 process, nccl"
"$python" -m torch.distributed.run --standalone --nproc-per-node=1 -m convzoo train $common --out "$out/ddp"

"$python" - "$out" <<'PY'
import json, sys
from pathlib import Path
for run in ("single", "ddp"):
    rows = [json.loads(line) for line in (Path(sys.argv[1]) / run / "metrics.jsonl").read_text().splitlines()]
    config = json.loads((Path(sys.argv[1]) / run / "config.json").read_text())["runtime"]
    last = rows[-1]
    rate = sorted(r["examples_per_sec"] for r in rows)[len(rows) // 2]
    print(f"{run:6s}  {config['device']}  {config['precision']}  world {config['world_size']}  "
          f"test acc {last.get('tta_test_acc', last['test_acc']):.4f}  median {rate:,.0f} examples/s  "
          f"{sum(r['seconds'] for r in rows):.1f} s")
PY
