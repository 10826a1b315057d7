"""Run NumPy's BLAS on one thread for a while (the NumPy training loop's matrix products).

Why: LeNet's products are small (a dense layer at batch 64 is ~3 MFLOP). OpenBLAS splits a product
of that size over all cores; on a machine whose cores are busy with other work, the split product
then waits for a descheduled thread. Measured on the 2-core machines with other jobs running:
`x.T @ x` for x of shape (64, 400) took 20 ms on two threads and 0.15 ms on one.
threadpoolctl finds and limits whichever BLAS NumPy loaded.
"""

from __future__ import annotations

from threadpoolctl import threadpool_info, threadpool_limits


def blas_threads() -> int | None:
    """How many threads NumPy's BLAS uses now (None if it cannot be told)."""
    pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
    return pools[0]["num_threads"] if pools else None


def single_threaded_blas():
    """A context manager (threadpoolctl's) that holds the BLAS to one thread."""
    return threadpool_limits(limits=1, user_api="blas")
