"""Run NumPy's OpenBLAS on one thread for a while (the NumPy training loop's matrix products).

Why: LeNet's products are small (a dense layer at batch 64 is ~3 MFLOP). OpenBLAS splits a product
of that size over all cores; on a machine whose cores are busy with other work, the split product
then waits for a descheduled thread. Measured on the 2-core machines with other jobs running:
`x.T @ x` for x of shape (64, 400) took 20 ms on two threads and 0.15 ms on one.

Found through the loaded library's own entry points with ctypes (what threadpoolctl does); where
there is no OpenBLAS (another BLAS, another OS), this does nothing.
"""

from __future__ import annotations

import ctypes
import functools
from contextlib import contextmanager
from pathlib import Path

_NAMES = [(f"{prefix}openblas_get_num_threads{suffix}", f"{prefix}openblas_set_num_threads{suffix}")
          for prefix in ("scipy_", "") for suffix in ("64_", "_64_", "")]


@functools.cache
def _openblas_thread_functions():
    """(get, set) of the OpenBLAS that NumPy loaded, or None."""
    import numpy  # noqa: F401  (loads its BLAS, so it shows in the process's memory map)

    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return None
    paths = {line.split()[-1] for line in maps.splitlines() if "openblas" in line.rsplit("/", 1)[-1]}
    for path in sorted(paths):
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for get_name, set_name in _NAMES:
            if hasattr(library, get_name) and hasattr(library, set_name):
                get, set_ = getattr(library, get_name), getattr(library, set_name)
                get.restype, set_.argtypes = ctypes.c_int, [ctypes.c_int]
                return get, set_
    return None


def blas_threads() -> int | None:
    """How many threads NumPy's OpenBLAS uses now (None if it cannot be told)."""
    functions = _openblas_thread_functions()
    return None if functions is None else functions[0]()


@contextmanager
def single_threaded_blas():
    functions = _openblas_thread_functions()
    if functions is None:
        yield
        return
    get, set_ = functions
    previous = get()
    set_(1)
    try:
        yield
    finally:
        set_(previous)
