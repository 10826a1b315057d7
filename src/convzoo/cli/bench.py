"""`convzoo bench ...`: benchmarks that print tables of ratios measured side by side in one run.

Each benchmark lives in its own module `bench_<name>.py` with a `register(bench_subparsers)`
function; add it to `BENCH_MODULES`. Benchmarks print; they never assert.
"""

from __future__ import annotations

import importlib

BENCH_MODULES: list[str] = ["reference", "train", "infer", "peak", "data", "demo", "race", "recipe"]


def register(sub) -> None:
    p = sub.add_parser("bench", help="benchmarks (speed and memory, printed as tables)",
                       description=__doc__.splitlines()[0])
    bench_sub = p.add_subparsers(dest="bench", metavar="BENCHMARK", parser_class=type(p))
    bench_sub.required = True
    for name in BENCH_MODULES:
        importlib.import_module(f"{__package__}.bench_{name}").register(bench_sub)
