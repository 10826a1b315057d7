"""`convzoo demo`: the web demo on a local server: any model, its graph, its training curves."""

from __future__ import annotations

from . import argtypes
from .output import Result, show


def register(sub) -> None:
    p = sub.add_parser("demo", help="web demo: draw or upload, watch any network think and training happen",
                       description="Serve the demo pages and their JSON API (see docs/demo.md). Without "
                                   "--checkpoint it serves the pretrained `digits` and `fashion` models.")
    p.add_argument("--checkpoint", help="checkpoint file, run directory, pretrained or zoo name: the page's "
                                        "first model (the installed pretrained models are offered too)")
    p.add_argument("--model", metavar="FILE.py:Class",
                   help="serve your own model alone: untrained (watching random weights teaches too), or with "
                        "--checkpoint RUN trained from it (the spec names the code, as --code does)")
    argtypes.add_model_arg_flag(p)
    argtypes.add_code_flag(p)
    p.add_argument("--data", metavar="NAME", help="--model without --checkpoint: the dataset whose classes and "
                                                  "normalisation it reads (default: guessed from its first layer)")
    p.add_argument("--runs", help="a folder of training runs and studies: their curves (live while they "
                                  "train) on /runs, and every trained run in the model picker")
    p.add_argument("--max-loaded", type=argtypes.integer(1, 64), default=4,
                   help="models kept loaded at once (default 4; the least recently used is dropped)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this "
                                                       "machine only)")
    p.add_argument("--port", type=argtypes.port, default=8000, help="0 picks a free port")
    p.add_argument("--threads", type=argtypes.threads, default=1,
                   help="torch threads (default 1: one small image per request gains nothing from more)")
    p.add_argument("--json", action="store_true",
                   help='announce the server as one JSON line ({"url", "models"}) for scripts, then serve')
    p.set_defaults(func=run)


def run(args) -> int:
    import sys

    import torch

    from ..serve import create_app
    from ..serve.server import address, bind, serve

    torch.set_num_threads(args.threads)
    if args.model or args.code:
        app = create_app(runs=args.runs, capacity=args.max_loaded, model=_live_model(args))
    else:
        app = create_app(args.checkpoint, args.runs, args.max_loaded)
    sock = bind(args.host, args.port)
    models = list(app.state.store.entries)
    shown = ", ".join(models[:6]) + (f" and {len(models) - 6} more" if len(models) > 6 else "")
    # Shown before serving (it blocks), so printed here rather than by the caller.
    show(Result({"url": address(sock), "models": models},
                [f"convzoo demo ({shown}) at {address(sock)}  (Ctrl-C stops)"]), as_json=args.json)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"note: listening on {args.host}, reachable from other machines", file=sys.stderr)
    serve(app, sock)
    return 0


def _live_model(args):
    """The user's own model, built here (`--model FILE.py:Class`, `--code`, with `--checkpoint`'s
    weights) and served alone, as `convzoo.explore` serves a module in memory."""
    from ..analysis.loading import load_model
    from ..errors import ConvzooError
    from ..infer.describe import describe_input
    from ..serve.models import LiveModel

    if args.checkpoint is None and args.model is None:
        raise ConvzooError("--code rebuilds a checkpoint: give --checkpoint RUN (or --model FILE.py:Class)")
    if args.checkpoint is not None:
        if args.model_arg or args.data:
            raise ConvzooError("--model-arg and --data come from the checkpoint when --checkpoint is given")
        loaded = load_model(args.checkpoint, code=args.code or args.model)
        data, shape = loaded.payload["data"], None
    else:
        loaded = load_model(args.model, model_args=args.model_arg)
        data, shape = args.data, None if args.data else loaded.input_shape
    label = loaded.model.convzoo_spec.get("name") or loaded.label
    return LiveModel(loaded.model, describe_input(loaded.model, data, shape, label), label)
