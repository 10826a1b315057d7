"""convzoo.reference is NumPy only: no file in it imports torch, nor anything outside reference/
except NumPy and the standard library."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import convzoo.reference

REFERENCE_DIR = Path(convzoo.reference.__file__).parent
# threadpoolctl only limits the BLAS thread pool (reference/blas.py); it never loads torch.
ALLOWED_TOP_LEVEL = {"numpy", "threadpoolctl", "__future__"} | set(sys.stdlib_module_names)


def _imports(path: Path):
    """(module, level) of every import in the file, including ones inside functions."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from ((alias.name, 0) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            yield node.module or "", node.level


def test_reference_files_import_only_numpy_stdlib_and_each_other():
    files = sorted(REFERENCE_DIR.rglob("*.py"))
    assert len(files) >= 5
    for path in files:
        for module, level in _imports(path):
            where = f"{path.name} imports {'.' * level}{module}"
            if level == 0:
                assert module.split(".")[0] in ALLOWED_TOP_LEVEL, where
            else:
                # `from . import x` / `from .conv import y` stay inside reference/; `..` leaves it.
                assert level == 1 and path.parent == REFERENCE_DIR, where


def test_reference_imports_and_trains_with_torch_unimportable(tmp_path):
    # The real package with torch made unimportable: convzoo/__init__ loads the models (and torch)
    # only on first use, so `import convzoo.reference` and every reference module must work.
    script = f"""
import sys
sys.modules["torch"] = None  # any `import torch` now raises ImportError
sys.path.insert(0, {str(REFERENCE_DIR.parent.parent)!r})
import numpy as np
import convzoo.reference as ref
from convzoo.reference import activations, conv, kernels, net, norm, pool, shapes
images = np.random.default_rng(0).integers(0, 255, (130, 28, 28), dtype=np.uint8)
labels = np.arange(130) % 10
result = ref.train_numpy(images, labels, images[:20], labels[:20], batch_size=64, log=lambda line: None)
assert set(result) == {{"test_acc", "test_loss", "train_loss", "examples_per_sec", "seconds", "epochs",
                        "history", "model"}}
assert sorted(result["model"].state_arrays())[:2] == ["0.weight", "1.bias"]
assert not any(name == "torch" or name.startswith("torch.") for name in sys.modules if sys.modules[name])
import convzoo
assert convzoo.__file__.startswith({str(REFERENCE_DIR.parent)!r})
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_plain_import_does_not_load_torch():
    done = subprocess.run([sys.executable, "-c", "import convzoo.reference, sys; assert 'torch' not in sys.modules"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
