"""Shared argparse types for every numeric flag, and one way to cap a value and say so.

A flag's type checks its bounds when the command line is parsed, so a bad value is one line
(`convzoo show: error: argument --steps: must be at least 1, not 0 (see --help)`) before any work
starts. An upper bound is what the machine or the command can sensibly do (threads beyond twice the
cores only wait for each other; a matrix side that would not fit in memory); a value that depends on
the data (more examples than a grid or a dataset holds) is capped where the data is known, with a
note on stderr (`capped`). `convzoo train`'s flags have their bounds in TrainConfig instead.
"""

from __future__ import annotations

import argparse
import math
import sys

from ..train.config import MAX_THREADS

MAX_PORT = 65535
MAX_BATCH = 65536  # benchmarks' batches: beyond this, memory runs out before a ratio is measured
MAX_ROUNDS = 1000  # repeats of a measurement


def integer(low: int | None = None, high: int | None = None):
    """An argparse type: an integer within [low, high]."""
    return _bounded(int, low, high)


def number(low: float | None = None, high: float | None = None, *, above: bool = False, finite: bool = True):
    """An argparse type: a finite number within [low, high] (strictly above `low` if `above`);
    `finite=False` passes inf and nan on to a later check (TrainConfig's bounds)."""
    return _bounded(float, low, high, above, finite)


def _bounded(kind, low, high, above: bool = False, finite: bool = True):
    what = "an integer" if kind is int else "a number"

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"takes {what}, not {text!r}") from None
        if kind is float and finite and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"takes a finite number, not {text!r}")
        too_low = low is not None and (value <= low if above else value < low)
        if too_low or (high is not None and value > high):
            if high is None:
                bound = f"{'above' if above else 'at least'} {low}"
            elif low is None:
                bound = f"at most {high}"
            else:
                bound = f"{'above' if above else 'from'} {low} {'and at most' if above else 'to'} {high}"
            raise argparse.ArgumentTypeError(f"must be {bound}, not {text}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its own messages
    return parse


positive = integer(1)
non_negative = integer(0)
threads = integer(1, MAX_THREADS)
port = integer(0, MAX_PORT)


def capped(value: int, limit: int, flag: str, why: str) -> int:
    """min(value, limit), with a note on stderr when the limit applies."""
    if value > limit:
        print(f"note: {flag} {value:,} capped at {limit:,} ({why})", file=sys.stderr)
        return limit
    return value


CODE_HELP = ("your own model's code, FILE.py or package.module (FILE.py:Class for another class): "
             "rebuilds a checkpoint of a model trained from FILE.py:Class; convzoo never imports what a "
             "checkpoint names")
MODEL_ARG_HELP = ("a constructor argument of your FILE.py:Class (or a registry builder option), repeatable, "
                  "typed by its signature")


def add_code_flag(parser: argparse.ArgumentParser) -> None:
    """`--code FILE.py`: the one flag that lets a command rebuild the user's own model."""
    parser.add_argument("--code", metavar="FILE.py", help=CODE_HELP)


def add_model_arg_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model-arg", action="append", default=[], metavar="KEY=VALUE", help=MODEL_ARG_HELP)
