"""`convzoo study list` and `convzoo study run NAME`: the lectures' experiments (src/convzoo/studies).

`convzoo study NAME` (the spelling before `run`) still works for one release, with a one-line note."""

from __future__ import annotations

import argparse
import json

from . import argtypes


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


def run_study_command(args) -> int:
    from .. import studies

    name = _study_name(args.words)
    if name is None:
        return _print_list(studies.list_studies(), args.json)
    from ..errors import ConvzooError

    study = studies.get_study(name)  # an unknown name fails before anything else
    try:
        result = studies.run_study(study, quick=args.quick, seeds=args.seeds, data=args.data,
                                   data_dir=args.data_dir, out=args.out, threads=args.threads, jobs=args.jobs,
                                   shard=studies.parse_shard(args.shard))
    except KeyboardInterrupt:
        raise ConvzooError("interrupted; the same command resumes the study where it stopped (finished runs and "
                           "each run's last finished epoch are kept)") from None
    _print_result(result, args.json)
    return 0


def _print_list(items, as_json: bool) -> int:
    if as_json:
        print(json.dumps([{"name": s.name, "summary": s.summary, "quick_minutes": s.quick.minutes,
                           "full_minutes": s.full.minutes, "runs": [r.name for r in s.runs]} for s in items], indent=2))
        return 0
    width = max(len(s.name) for s in items)
    for s in items:
        print(f"{s.name:{width}}  {s.summary}")
    return 0


def _print_result(result, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result.to_dict(), indent=2))
        return
    if not result.complete:
        print(f"{result.study}: this shard's runs are done ({result.counts}); assemble with: {result.command}")
        return
    widths = [max(len(str(c)), *(len(str(r[i])) for r in result.rows)) for i, c in enumerate(result.columns)]
    print("  ".join(f"{c:{w}}" for c, w in zip(result.columns, widths)))
    for row in result.rows:
        print("  ".join(f"{v!s:{w}}" for v, w in zip(row, widths)))
    for note in result.notes:
        print(f"note: {note}")
    print()
    print(result.finding.strip())
    print()
    done = ", ".join(f"{v} {k}" for k, v in result.counts.items() if v)
    print(f"{done}; {result.seconds:.0f} s")
    print(f"written: {', '.join(result.files)}")
