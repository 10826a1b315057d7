"""`convzoo bench race`: time to accuracy, d2l's textbook LeNet recipe against a convzoo recipe.

Both run one after the other in this process, each on its own clock (data loading and setup
included, evaluations excluded). Test accuracy is logged every N steps on a fixed, class-balanced
slice of the test set; the target is the textbook's final full-test-set accuracy, and convzoo
reaches it where both its slice and its full-test-set accuracy are at least that. Prints the
times, the accuracies and the ratio (textbook total time / convzoo's time to the target), and
draws both curves (docs/speedrun.md).
"""

from __future__ import annotations

from . import argtypes
from .bench_data import add_data_arguments
from .output import Result


def register(bench_sub) -> None:
    p = bench_sub.add_parser("race", help="time to accuracy: the textbook LeNet recipe vs a convzoo recipe",
                             description=__doc__.splitlines()[0])
    p.add_argument("--recipe", default="fast", help="convzoo's recipe: fast (default), accurate or best")
    add_data_arguments(p)
    p.add_argument("--epochs", type=argtypes.integer(1, 1000), default=10, help="the textbook's epochs (default 10)")
    p.add_argument("--eval-every", type=argtypes.integer(1, 1_000_000), metavar="STEPS",
                   help="log accuracy every this many steps of each side (default: about 50 points per epoch)")
    p.add_argument("--slice", type=argtypes.integer(10, 1_000_000), default=1000, metavar="N",
                   help="class-balanced test images evaluated at each point (default 1000)")
    p.add_argument("--seed", type=argtypes.non_negative, default=0, help="both sides' seed (default 0)")
    p.add_argument("--threads", type=argtypes.threads, metavar="N", help="CPU threads for both (default: torch's)")
    p.add_argument("-o", "--output", default="runs/race.png", help="the figure (default runs/race.png)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)


def run(args) -> Result:
    from ..bench.race import race

    result = race(args.data, args.data_dir, recipe=args.recipe, epochs=args.epochs, eval_every=args.eval_every,
                  slice_size=args.slice, seed=args.seed, threads=args.threads or 0, figure=args.output)
    data = result.to_dict()
    for side in ("textbook", "convzoo"):  # the text counts each side's points
        data[side]["point_count"] = len(data[side]["points"])
    return Result(data, [report(result)], indent=2)


def report(result) -> str:
    """The race as a few lines: a row per side, the crossing, the ratio, the figure, the machine."""
    from ..tables import text_table

    title = (f"bench race on {result.data}: the textbook vs convzoo recipe {result.recipe}; accuracy on a "
             f"{result.slice_size:,}-image class-balanced test slice, each clock paused while evaluating; "
             "final accuracies on the full test set")
    rows = [(side.name, f"{side.final_acc:.4f}", f"{side.total_seconds:.1f}", f"{side.setup_seconds:.1f}",
             f"{len(side.points)}", side.recipe) for side in (result.textbook, result.convzoo)]
    target = f"target {result.target:.4f} (the textbook's final accuracy): convzoo "
    crossing = result.convzoo.crossing
    if crossing is None:
        outcome = [target + "did not reach it"]
    else:
        reached = (f"reached it at {crossing.seconds:.1f} s (step {crossing.step}, epoch {crossing.epoch:.2f}; "
                   f"slice {crossing.slice_acc:.4f}, full test set {crossing.full_acc:.4f})")
        ratio = (f"ratio {result.ratio:.1f}x: the textbook's {result.textbook.total_seconds:.1f} s / convzoo's "
                 f"{crossing.seconds:.1f} s to the textbook's accuracy")
        outcome = [target + reached, ratio]
    m = result.machine
    where = (f"machine: {m['cpu']}, {m['cores']} cores, {m['threads']} threads, torch {m['torch']}; "
             f"load average {m['load_average_before'][0]:.1f} before, {m['load_average_after'][0]:.1f} after")
    header = ("side", "final acc", "total s", "setup s", "points", "recipe")
    figure = [f"figure: {result.figure}"] if result.figure else []
    return "\n".join([title, text_table(header, rows), *outcome, *figure, where])
