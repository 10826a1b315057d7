"""`convzoo bench recipe`: a recipe's record runs, each seed a cold `convzoo train` process.

Prints each seed's test accuracy (as the recipe reports it, with its TTA) and wall-clock time of
the whole process, then the accuracy mean ± sd, the medians, the machine, the commit and the
command, and where the medians stand against the speedrun targets (docs/speedrun.md). Flags after
`--` go to `convzoo train` unchanged, to measure a trick: `convzoo bench recipe fast -- --ema 0.99`.
"""

from __future__ import annotations

from . import argtypes
from .output import Result


def _seeds(text: str) -> list[int]:
    import argparse

    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"takes seeds separated by commas (0,1,2), not {text!r}") from None
    if not seeds or min(seeds) < 0 or len(seeds) > 20 or len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"takes 1 to 20 distinct seeds >= 0 separated by commas, not {text!r}")
    return seeds


def _thresholds(text: str) -> list[float]:
    import argparse

    try:
        values = [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"takes accuracies separated by commas (0.92,0.95), not {text!r}") from None
    if not values or len(values) > 20 or not all(0 < v <= 1 for v in values):
        raise argparse.ArgumentTypeError(f"takes 1 to 20 accuracies in (0, 1] separated by commas, not {text!r}")
    return sorted(set(values))


def register(bench_sub) -> None:
    p = bench_sub.add_parser("recipe", help="a recipe's record: accuracy mean ± sd and median wall clock over seeds",
                             description=__doc__.splitlines()[0])
    p.add_argument("recipe", help="fast, accurate, best or any recipe of `convzoo train --help`")
    p.add_argument("--seeds", type=_seeds, default=[0, 1, 2], help="seeds, one cold process each (default 0,1,2)")
    p.add_argument("--threads", type=argtypes.threads, metavar="N", help="CPU threads (default: torch's)")
    p.add_argument("--data-dir", help="where the dataset's files are (else the usual search)")
    p.add_argument("--timeout", type=argtypes.number(1, 86400), default=7200, metavar="SECONDS",
                   help="stop a seed's run after this long (default 7200)")
    p.add_argument("--count", action="store_true",
                   help="count the run's images seen and FLOPs (docs/speedrun.md) without training, then stop")
    p.add_argument("--against", metavar="RECIPE",
                   help="run this recipe too, its seeds alternating with the first's, and print the ratios of "
                        "their FLOPs and times (the flags after -- go to the first recipe only)")
    p.add_argument("--val-split", type=argtypes.number(0, 1, above=True), metavar="F",
                   help="hold this fraction of the training set out, evaluate it after every epoch and read the "
                        "test set once at the end (train's --val-split F --test-once); prints the images seen and "
                        "FLOPs to each --to accuracy on it")
    p.add_argument("--test-once", action="store_true",
                   help="read the test set once per run, after its last epoch (train's --test-once; implied by "
                        "--val-split): the record's protocol, with nothing evaluated in between")
    p.add_argument("--to", type=_thresholds, metavar="ACCS",
                   help="validation accuracies to report the compute to (default with --val-split: "
                        "0.92,0.93,0.94,0.95)")
    p.add_argument("--keep", metavar="DIR",
                   help="keep each seed's run (checkpoint, metrics, plots) in DIR/RECIPE-seedS instead of a "
                        "scratch folder; refused where one is already there")
    p.add_argument("--json", action="store_true", help="print the record as JSON")
    p.usage = "convzoo bench recipe [-h] [--seeds SEEDS] [--threads N] [--data-dir DIR] [--timeout SECONDS] " \
              "[--keep DIR] [--against RECIPE] [--test-once] [--val-split F [--to ACCS]] [--json] recipe [-- TRAIN FLAGS...]"
    p.epilog = "TRAIN FLAGS: everything after -- goes to convzoo train, e.g. -- --epochs 4 --ema 0.99"
    p.set_defaults(func=run, passthrough=[])


# `convzoo train` flags that bench recipe sets for each seed's run itself: given again after `--`
# they would override it (`-- --seed 7` trains every "seed" with seed 7 and reports ± 0.0000).
CONTROLLED = {"recipe": "the recipe argument", "seed": "--seeds", "out": "a scratch folder per seed",
              "json": "the record's own --json", "threads": "--threads before --", "data_dir": "--data-dir before --",
              "resume": "a fresh run per seed", "count": "the recipe's count, made once outside the timed runs",
              "val_split": "--val-split before --", "test_once": "--test-once or --val-split before --"}


def refuse_controlled(flags: list[str]) -> None:
    """One line when a flag after `--` is one bench recipe sets itself, however it is spelled
    (`--seed 7`, `--seed=7`, an abbreviation argparse accepts): the flags are parsed by train's
    own parser and compared with its defaults."""
    from ..errors import ConvzooError
    from . import _command_parser, build_parser

    train = _command_parser(build_parser(), ["train"])
    parsed, _ = train.parse_known_args([f for f in flags if f not in ("-h", "--help")])  # help would exit here
    for dest, owner in CONTROLLED.items():
        if getattr(parsed, dest, None) != train.get_default(dest):
            flag = "--" + dest.replace("_", "-")
            raise ConvzooError(f"{flag} after -- is set by bench recipe itself ({owner}); remove it")


def run(args) -> Result:
    from ..bench.recipe_runs import run_recipes
    from ..bench.thresholds import DEFAULT_THRESHOLDS, to_thresholds
    from ..errors import ConvzooError

    if args.to and not args.val_split:
        raise ConvzooError("--to reads the validation accuracy after each epoch: give --val-split F too")
    split = (["--val-split", f"{args.val_split:g}", "--test-once"] if args.val_split
             else ["--test-once"] if args.test_once else [])
    if args.count:
        if args.keep:
            raise ConvzooError("--count trains nothing, so --keep has no run to keep; give one or the other")
        return count(args, split)
    refuse_controlled(args.passthrough)
    recipes = [(args.recipe, [*args.passthrough, *split])] + ([(args.against, split)] if args.against else [])
    if args.keep:  # a folder already there stops it before the count and any run
        from ..bench.recipe_runs import kept_runs
        kept_runs(args.keep, [recipe for recipe, _ in recipes], args.seeds)
    # counted here, before and outside the timed processes (a bad name or flag stops it before any run);
    # epoch by epoch only where the thresholds need it
    computes = [recipe_compute_of(recipe, flags, args.data_dir, by_epoch=bool(args.val_split))
                for recipe, flags in recipes]
    records = run_recipes(recipes, args.seeds, threads=args.threads or 0, data_dir=args.data_dir,
                          timeout=args.timeout, keep=args.keep)
    for record, compute in zip(records, computes):
        record.compute = (compute[-1] if args.val_split else compute).to_dict()
        if args.val_split:
            record.thresholds = to_thresholds([r.val_accuracy for r in record.runs], [c.to_dict() for c in compute],
                                              args.to or DEFAULT_THRESHOLDS)
    first = {**records[0].to_dict(), "seed_count": len(records[0].runs)}
    if not args.against:
        return Result(first, [report(records[0])], indent=2)
    ratios = against(*records)
    return Result({**first, "against": records[1].to_dict(), "ratios": ratios},
                  [report(records[0]), report(records[1]), against_text(records, ratios)], indent=2)


def against(new, old) -> dict:
    """The first recipe over the second: training FLOPs, images, median wall clock, and each seed's
    pair of times (run back to back, so a slow spell of the machine falls on both)."""
    import statistics

    pairs = [a.seconds / b.seconds for a, b in zip(new.runs, old.runs)]
    return {"train_flops": new.compute["train_flops"] / old.compute["train_flops"],
            "images_seen": new.compute["images_seen"] / old.compute["images_seen"], "seconds_by_seed": pairs,
            "seconds_median_of_pairs": statistics.median(pairs), "accuracy_difference": new.mean - old.mean}


def against_text(records, ratios: dict) -> str:
    new, old = records
    return (f"{new.recipe} against {old.recipe}: training FLOPs x{ratios['train_flops']:.3f}, images seen "
            f"x{ratios['images_seen']:.3f}, accuracy {new.mean:.4f} against {old.mean:.4f} "
            f"({ratios['accuracy_difference'] * 100:+.2f} points); wall clock x{ratios['seconds_median_of_pairs']:.3f} "
            f"(median of the seeds' pairs: " + ", ".join(f"{r:.3f}" for r in ratios["seconds_by_seed"]) + ")")


def recipe_compute_of(recipe: str, flags: list[str], data_dir: str | None = None, by_epoch: bool = False):
    """The compute of one run of `recipe` with the train `flags`, counted, not trained (the same for
    every seed): outside the timed processes, which run with --no-count. With `by_epoch`, the list
    of its compute up to the end of each epoch."""
    import argparse

    from ..bench.recipe_runs import recipe_compute
    from ..errors import ConvzooError, unknown_name
    from ..train.recipes import RECIPES
    from .train import add_config_flags, config_from_args

    if recipe not in RECIPES:
        raise unknown_name("recipe", recipe, list(RECIPES))
    parser = argparse.ArgumentParser(prog="convzoo bench recipe ... --", add_help=False)
    parser.add_argument("--model-arg", action="append", default=[])
    add_config_flags(parser)

    def refuse(message):
        raise ConvzooError(f"bench recipe: a train flag after -- {message}")

    parser.error = refuse  # one line, not argparse's usage screen
    train_args = parser.parse_args(flags)
    train_args.recipe, train_args.model = recipe, None
    if data_dir:
        train_args.data_dir = data_dir
    compute = recipe_compute(config_from_args(train_args), by_epoch=by_epoch)
    if compute is None:
        raise ConvzooError(f"recipe {recipe}: its model cannot be counted")
    return compute


def count(args, split: list[str]) -> Result:
    """`--count`: the compute of one run of the recipe (with --val-split: as bench recipe would run it)."""
    from ..tables import human

    flags = [*args.passthrough, *split]
    compute = recipe_compute_of(args.recipe, flags, args.data_dir)
    return Result({"recipe": args.recipe, "flags": flags, **compute.to_dict()}, [
        (f"recipe {args.recipe} {' '.join(flags)}: {compute.images_seen:,} images seen, "
         f"{human(compute.train_flops)}FLOP training ({compute.train_flops_per_image / 1e6:,.2f} MFLOP per "
         f"image, {compute.optimizer_flops_per_step / 1e6:,.1f} MFLOP per optimiser step), "
         f"{human(compute.eval_flops)}FLOP evaluation; counted: {compute.counted}")])


def report(record) -> str:
    from ..bench.thresholds import threshold_cells
    from ..tables import human, text_table

    rows = [(r.seed, f"{r.accuracy:.4f}", f"{r.seconds:.1f}", f"{r.train_seconds:.1f}") for r in record.runs]
    lines = [f"bench recipe {record.recipe}: {record.command}",
             text_table(("seed", "test acc", "wall s", "epochs s"), rows),
             (f"accuracy {record.mean:.4f} ± {record.sd:.4f} (mean ± sd over {len(record.runs)} seeds), median "
              f"{record.median_accuracy:.4f}; wall clock median {record.median_seconds:.1f} s")]
    if record.compute:
        c = record.compute
        lines.append(f"compute per run: {c['images_seen']:,} images seen, {human(c['train_flops'])}FLOP training, "
                     f"{human(c['eval_flops'])}FLOP evaluation (FlopCounterMode; docs/speedrun.md)")
    if record.thresholds:
        lines += [("to a validation accuracy (the first epoch at or above it; test set read once, at the end; "
                  "docs/speedrun.md):"),
                  text_table(("val acc", "seeds", "epochs", "images seen", "training FLOPs"),
                             [threshold_cells(row) for row in record.thresholds])]
    t = record.target
    if t:
        met = {True: "met", False: "missed"}
        lines.append(f"target >= {t['accuracy']} in <= {t['must_seconds']:g} s (must): {met[t['must_met']]}; "
                     f"in <= {t['stretch_seconds']:g} s (stretch): {met[t['stretch_met']]}")
    m = record.machine
    lines.append(f"machine: {m['cpu']}, {m['threads']} threads, torch {m['torch']}; commit {record.commit}; "
                 f"load average {record.load_average_before[0]:.1f} before, {record.load_average_after[0]:.1f} after")
    return "\n".join(lines)
