"""`convzoo study list` and `convzoo study run NAME`: the lectures' experiments (src/convzoo/studies).

`convzoo study NAME` (the spelling before `run`) still works for one release, with a one-line note."""

from __future__ import annotations

import argparse

from ..tables import Grid
from . import argtypes
from .output import Result


def _seeds(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--seeds takes a whole number, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"--seeds must be at least 1, not {value}")
    return value


def _epilog() -> str:
    from ..studies import list_studies

    lines = ["studies (estimated time on 2 quiet cores, default seeds):"]
    for s in list_studies():
        lines.append(f"  {s.name:11s} {s.summary}")
        lines.append(f"  {'':11s} --quick ~{s.quick.minutes:g} min ({_count(s.quick.seeds, 'seed')}); "
                     f"full ~{s.full.minutes:g} min ({_count(s.full.seeds, 'seed')})")
    return "\n".join(lines)


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"


def register(sub) -> None:
    p = sub.add_parser(
        "study", help="the lectures' experiments: ablation, depth, activation, dropout, batch norm, ...",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=_epilog(),
        description="`study run NAME` runs one of the lectures' comparisons; `study list` lists them. Every training is a normal run "
                    "directory under OUT/runs/<run>-seed<k>; an interrupted study resumes where it stopped. "
                    "Writes OUT/results.json, results.md, finding.md and PNG figures. --quick takes a couple "
                    "of minutes on 2 cores; a full study 10-30 minutes on 2 quiet cores (`study list` gives each "
                    "one's estimate; docs/studies.md).")
    p.add_argument("words", nargs="+", metavar="list | run NAME",
                   help="`list` the studies, or `run NAME` (`study NAME` alone: the old spelling, kept for one release)")
    p.add_argument("--quick", action="store_true", help="the small setting (minutes; what the tests run)")
    p.add_argument("--seeds", type=_seeds, metavar="K", help="seeds per run (default: the study's, listed below)")
    p.add_argument("--data", metavar="NAME", help="dataset (default: the study's, fashion-mnist)")
    p.add_argument("--data-dir", metavar="DIR", help="where the dataset's files are (else the usual search)")
    p.add_argument("--out", metavar="DIR", help="output folder (default: studies/<name>-<data>[-quick])")
    p.add_argument("--threads", type=int, default=0, metavar="N",
                   help="CPU threads per process (0: torch's default; bounded as train's --threads)")
    p.add_argument("--jobs", type=argtypes.integer(1, 64), default=1, metavar="N",
                   help="train in N processes at once, sharing the cores (at most 64)")
    p.add_argument("--shard", metavar="I/N", help="train only every N-th run from I (several processes or machines "
                                                "sharing OUT); a run without --shard assembles the outputs")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run_study_command)


def _study_name(words: list[str]) -> str | None:
    """The study that `list | run NAME | NAME` names (None for `list`); the old spelling gets its note."""
    import sys

    from ..errors import ConvzooError

    if words == ["list"]:
        return None
    if words[0] == "run" and len(words) == 2:
        return words[1]
    if len(words) == 1 and words[0] != "run":
        print(f"note: `convzoo study {words[0]}` is now `convzoo study run {words[0]}`; the old spelling goes in "
              "the next release", file=sys.stderr)
        return words[0]
    raise ConvzooError(f"study {' '.join(words)}: expected `study list` or `study run NAME`")


def run_study_command(args) -> Result:
    from .. import studies

    name = _study_name(args.words)
    if name is None:
        return _listing(studies.list_studies())
    from ..errors import ConvzooError

    study = studies.get_study(name)  # an unknown name fails before anything else
    try:
        result = studies.run_study(study, quick=args.quick, seeds=args.seeds, data=args.data,
                                   data_dir=args.data_dir, out=args.out, threads=args.threads, jobs=args.jobs,
                                   shard=studies.parse_shard(args.shard))
    except KeyboardInterrupt:
        raise ConvzooError("interrupted; the same command resumes the study where it stopped (finished runs and "
                           "each run's last finished epoch are kept)") from None
    return _result(result)


def _listing(items) -> Result:
    data = [{"name": s.name, "summary": s.summary, "quick_minutes": s.quick.minutes, "full_minutes": s.full.minutes,
             "runs": [r.name for r in s.runs]} for s in items]
    width = max(len(s.name) for s in items)  # no header: each line starts with a study's name
    return Result(data, [f"{s.name:{width}}  {s.summary}" for s in items], indent=2)


def _result(result) -> Result:
    """A finished study: its table, notes and finding, what ran and what was written; a shard's part:
    how to assemble it."""
    if not result.complete:
        return Result(result.to_dict(), [(f"{result.study}: this shard's runs are done ({result.counts}); "
                                         f"assemble with: {result.command}")], indent=2)
    done = ", ".join(f"{v} {k}" for k, v in result.counts.items() if v)
    return Result(result.to_dict(), [
        Grid(result.columns, result.rows), *(f"note: {note}" for note in result.notes), "",
        result.finding.strip(), "", f"{done}; {result.seconds:.0f} s", f"written: {', '.join(result.files)}"],
        indent=2)
