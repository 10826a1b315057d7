"""The runs that train each module in this process, so that a view of the module (`convzoo.explore`)
finds its curves while `Trainer.fit` writes them: rank 0 records the run directory when it makes it.

Weak references: a module that is gone takes its entry with it.
"""

from __future__ import annotations

import threading
import weakref
from pathlib import Path

from torch import nn

_RUNS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # module -> [run directory, ...]
_LOCK = threading.Lock()


def record_run(model: nn.Module, run_dir: str | Path) -> None:
    with _LOCK:
        runs = _RUNS.setdefault(model, [])
        path = Path(run_dir).resolve()
        if path not in runs:
            runs.append(path)


def runs_of(model: nn.Module) -> list[Path]:
    """The run directories of `model` in this process, oldest first."""
    with _LOCK:
        return list(_RUNS.get(model, ()))
