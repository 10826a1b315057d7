"""The `convzoo` command line. Thin: parse, call the library, print.

Each command group lives in its own module with a `register(subparsers)` function; add a new
group by adding its module name to `COMMAND_MODULES`. Command functions take the parsed
arguments and return their result (an `output.Result`, or a library object with `to_dict()`),
which the one printer, `output.show`, prints as text or, with `--json`, as JSON; a command that
prints nothing of its own (a server) returns an exit code.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
import warnings

from .. import zoo  # noqa: F401 - registers `zoo:NAME` as a checkpoint name (train/checkpoint.py's hook)
from ..errors import ConvzooError
from . import output

COMMAND_MODULES = ["data", "models", "train", "eval", "predict", "bench", "kernels", "inspect", "show", "report", "demo", "export", "study", "baseline", "search", "compare", "segment", "style", "zoo"]


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line on stderr (and exit 2), like every other user error."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="convzoo", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--version", action="version", version=f"convzoo {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(f"{__name__}.{name}").register(sub)
    return parser


def _version() -> str:
    from .. import __version__

    return __version__


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = _parse(parser, list(sys.argv[1:] if argv is None else argv))
    try:
        # Library warnings (torch's notes on its internals, mostly) are held back: shown after a
        # command that succeeds, dropped before an error, whose one line is then all there is.
        as_json = getattr(args, "json", False)
        with warnings.catch_warnings(record=True) as held:
            # with --json, stdout is the JSON alone: what the command logs on its way (the engine's
            # set-up and epochs, the auto setup's timing) goes to stderr
            with contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext():
                code = args.func(args)
            if code is not None and not isinstance(code, int):
                code = output.show(code, as_json=as_json)
        for w in held:  # written out, not re-raised: the warnings filters ran when they were recorded
            sys.stderr.write(warnings.formatwarning(w.message, w.category, w.filename, w.lineno))
    except ConvzooError as exc:
        print(f"convzoo: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("convzoo: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `convzoo models | head`: the reader left; not an error worth a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return int(code or 0)


def _parse(parser, argv: list[str]):
    """Parse `argv`. A command whose parser sets a `passthrough` default (`bench recipe NAME -- TRAIN
    FLAGS`) gets everything after `--` unparsed (argparse 3.11 would reject it); for every other
    command `--` keeps argparse's own meaning."""
    if "--" in argv:
        cut = argv.index("--")
        if "passthrough" in _command_parser(parser, argv[:cut])._defaults:
            args = parser.parse_args(argv[:cut])
            args.passthrough = argv[cut + 1:]
            return args
    return parser.parse_args(argv)


def _command_parser(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.ArgumentParser:
    """The (sub)parser that `argv`'s leading command words select, without parsing anything else."""
    words = iter(a for a in argv if not a.startswith("-"))
    while True:
        choices = next((a.choices for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
        word = next(words, None) if choices else None
        if word not in (choices or {}):
            return parser
        parser = choices[word]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
