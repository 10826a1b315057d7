"""`convzoo demo`: the LeNet web demo on a local server (draw a digit, upload a garment)."""

from __future__ import annotations

import json

from . import argtypes


def register(sub) -> None:
    p = sub.add_parser("demo", help="web demo: draw a digit in the browser and watch LeNet read it",
                       description="Serve the demo page and its JSON API (see docs/demo.md). Without "
                                   "--checkpoint it serves the pretrained `digits` and `fashion` models.")
    p.add_argument("--checkpoint", help="checkpoint file, run directory or pretrained name for the first "
                                        "mode; other installed pretrained models fill the other modes")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this "
                                                       "machine only)")
    p.add_argument("--port", type=argtypes.port, default=8000, help="0 picks a free port")
    p.add_argument("--threads", type=argtypes.threads, default=1,
                   help="torch threads (default 1: one small image per request gains nothing from more)")
    p.add_argument("--json", action="store_true",
                   help='announce the server as one JSON line ({"url", "modes"}) for scripts, then serve')
    p.set_defaults(func=run)


def run(args) -> int:
    import sys

    import torch

    from ..serve import create_app
    from ..serve.server import address, bind, serve

    torch.set_num_threads(args.threads)
    app = create_app(args.checkpoint)
    sock = bind(args.host, args.port)
    modes = ", ".join(app.state.modes)
    if args.json:
        print(json.dumps({"url": address(sock), "modes": list(app.state.modes)}), flush=True)
    else:
        print(f"convzoo demo ({modes}) at {address(sock)}  (Ctrl-C stops)", flush=True)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"note: listening on {args.host}, reachable from other machines", file=sys.stderr)
    serve(app, sock)
    return 0
