"""`convzoo show <what>` (pictures of a model or a run) and `convzoo report` (one HTML page)."""

from __future__ import annotations

from ..analysis.gallery import MAX_GRID
from . import argtypes
from .output import Result

CKPT_HELP = ("a checkpoint (file, run directory, pretrained name), a registered model or your FILE.py:Class "
             "(untrained)")
RUN_HELP = "a run directory (or a checkpoint file / pretrained name)"


def register(sub) -> None:
    show = sub.add_parser("show", help="pictures: filters, feature maps, maximised neurons, confusion, ...",
                          description="Draw a picture of a model or a run as a PNG.")
    what = show.add_subparsers(dest="what", metavar="WHAT", parser_class=type(show))
    what.required = True
    for add in (_add_filters, _add_features, _add_maximize, _add_run_pictures):
        add(what)


def _add_filters(what) -> None:
    p = _picture(what, "filters", "grid of a conv layer's kernels (default: the first conv layer)")
    p.add_argument("checkpoint", help=CKPT_HELP)
    p.add_argument("--layer", help="a conv layer's name (see `convzoo summary`); shown one input channel at a time")
    p.add_argument("--max", type=argtypes.integer(1, MAX_GRID), default=64, help="at most this many filters (default 64)")
    p.set_defaults(func=run_filters)


def _add_features(what) -> None:
    p = _picture(what, "features", "feature maps of an image at each conv stage, beside the image")
    p.add_argument("checkpoint", help=CKPT_HELP)
    p.add_argument("image", help="a PNG or JPEG file")
    p.add_argument("--layers", help="comma-separated layer names (default: the last conv of each stage)")
    p.set_defaults(func=run_features)


def _add_maximize(what) -> None:
    p = _picture(what, "maximize", "inputs that maximise a channel (or a class), or --deepdream an image")
    p.add_argument("checkpoint", help=CKPT_HELP)
    p.add_argument("--layer", help="layer name (default: the last conv layer)")
    p.add_argument("--channel", default="0-7", help="channel(s): 3, 0,4,9 or 0-7 (default 0-7)")
    p.add_argument("--class", dest="class_", metavar="K", help="maximise class K's logit instead (index or name)")
    p.add_argument("--steps", type=argtypes.integer(1, 10_000), default=128, help="gradient-ascent steps (default 128)")
    p.add_argument("--lr", type=argtypes.number(0, 10, above=True), default=0.05, help="Adam step size on pixels in [0, 1] (default 0.05)")
    p.add_argument("--jitter", type=argtypes.integer(0, 64), default=2, help="random shift in pixels per step (default 2)")
    p.add_argument("--tv", type=argtypes.number(0, 1e6), default=0.1, help="total-variation penalty weight (default 0.1)")
    p.add_argument("--blur-every", type=argtypes.non_negative, default=4, help="3x3 Gaussian blur every N steps (0: never)")
    p.add_argument("--seed", type=argtypes.non_negative, default=0)
    p.add_argument("--deepdream", metavar="IMAGE", help="amplify what --layer sees in IMAGE, across octaves")
    p.add_argument("--octaves", type=argtypes.integer(1, 8), default=3, help="DeepDream octaves (default 3)")
    p.add_argument("--size", type=argtypes.integer(8, 1024), help="DeepDream image size (default: the model's input size)")
    p.set_defaults(func=run_maximize)


def _add_run_pictures(what) -> None:
    p = _picture(what, "confusion", "confusion matrix, counts and normalised")
    p.add_argument("run", help=RUN_HELP)
    p.set_defaults(func=run_confusion)

    p = _picture(what, "mistakes", "the most confident mistakes on the run's test set")
    p.add_argument("run", help=RUN_HELP)
    p.add_argument("-n", type=argtypes.positive, default=36, help=f"how many (default 36, at most {MAX_GRID})")
    p.set_defaults(func=run_mistakes)

    p = _picture(what, "curves", "loss and accuracy curves of one or several runs, overlaid")
    p.add_argument("runs", nargs="+", metavar="RUN", help=RUN_HELP)
    p.set_defaults(func=run_curves)



def _picture(what, name: str, help_text: str):
    p = what.add_parser(name, help=help_text, description=help_text[0].upper() + help_text[1:] + ".")
    p.add_argument("-o", "--output", default=f"{name}.png", help=f"PNG file to write (default {name}.png)")
    p.add_argument("--json", action="store_true", help='print {"wrote": PATH} as JSON')
    argtypes.add_code_flag(p)
    if name in ("filters", "features", "maximize"):
        argtypes.add_model_arg_flag(p)
    return p


def _wrote(path) -> Result:
    return Result({"wrote": str(path)}, [f"wrote {path}"])


def run_filters(args) -> Result:
    from ..analysis.visualize import plot_filters

    return _wrote(plot_filters(_subject(args), args.output, args.layer, max_filters=args.max))


def run_features(args) -> Result:
    from ..analysis.visualize import plot_features

    layers = [n.strip() for n in args.layers.split(",") if n.strip()] if args.layers else None
    return _wrote(plot_features(_subject(args), args.image, args.output, layers))


def _subject(args):
    from ..analysis.visualize import open_subject

    return open_subject(args.checkpoint, code=args.code, model_args=args.model_arg)


def parse_channels(text: str) -> list[int]:
    """'3' -> [3]; '0,4,9' -> [0, 4, 9]; '0-7' -> [0, ..., 7]."""
    from ..errors import ConvzooError

    channels: list[int] = []
    try:
        for part in text.split(","):
            low, _, high = part.strip().partition("-")
            channels += list(range(int(low), int(high or low) + 1))
    except ValueError:
        raise ConvzooError(f"--channel {text!r}: expected K, K,L,M or K-L") from None
    if not channels or len(channels) > 64:
        raise ConvzooError(f"--channel {text!r}: between 1 and 64 channels")
    return channels


def run_maximize(args) -> Result:
    from ..analysis.maximize import deepdream, default_layer, maximize, plot_pictures

    subject = _subject(args)
    if args.deepdream:
        layer = args.layer or default_layer(subject)
        pictures = deepdream(subject, layer, args.deepdream, octaves=args.octaves, jitter=args.jitter,
                             size=args.size, seed=args.seed)
        return _wrote(plot_pictures(list(pictures), args.output, f"{subject.label}: DeepDream on {layer}"))
    options = {"steps": args.steps, "lr": args.lr, "jitter": args.jitter, "blur_every": args.blur_every,
               "tv_weight": args.tv, "seed": args.seed}
    if args.class_ is not None:
        index = _class_index(args.class_, subject.classes)
        pictures = [maximize(subject, None, index, **options)]
        title = f"{subject.label}: input maximising class {subject.classes[index]}"
    else:
        layer = args.layer or default_layer(subject)
        pictures = [maximize(subject, layer, k, **options) for k in parse_channels(args.channel)]
        title = f"{subject.label}: inputs maximising {layer}'s channels (mean activation before → after)"
    return _wrote(plot_pictures(pictures, args.output, title))


def _class_index(text: str, classes: list[str]) -> int:
    from ..errors import ConvzooError, unknown_name

    if text in classes:
        return classes.index(text)
    if text.isdigit() and int(text) < len(classes):
        return int(text)
    if text.isdigit():
        raise ConvzooError(f"--class {text}: there are {len(classes)} classes (0-{len(classes) - 1})")
    raise unknown_name("class", text, classes)


def run_confusion(args) -> Result:
    from pathlib import Path

    from ..analysis.runplots import plot_confusion
    from ..analysis.runplots import run_confusion as confusion_of

    confusion, classes = confusion_of(args.run, code=args.code)
    return _wrote(plot_confusion(confusion, classes, args.output, title=Path(args.run.rstrip("/")).name))


def run_mistakes(args) -> Result:
    from pathlib import Path

    from ..analysis.runplots import evaluate_run, plot_mistakes

    n = argtypes.capped(args.n, MAX_GRID, "-n", "the most one grid shows")
    return _wrote(plot_mistakes(evaluate_run(args.run, code=args.code), args.output, n, title=Path(args.run.rstrip("/")).name))


def run_curves(args) -> Result:
    from ..analysis.runplots import plot_runs

    return _wrote(plot_runs(args.runs, args.output))
