"""`convzoo style CONTENT STYLE -o OUT.png`: neural style transfer (Gatys et al. 2016).

CONTENT and STYLE are PNG/JPEG files or scikit-image's bundled pictures (`skimage:chelsea`,
`skimage:gravel`, ...). The features come from random convolutions by default, so it works offline.
"""

from __future__ import annotations

from . import argtypes
from .output import Result


def register(sub) -> None:
    from ..apps import style

    p = sub.add_parser("style", help="paint a picture in the texture of another (neural style transfer)",
                       description=__doc__.splitlines()[0])
    p.add_argument("content", help="picture whose layout is kept: a PNG/JPEG file or skimage:NAME")
    p.add_argument("style", help="picture whose texture is painted on: a PNG/JPEG file or skimage:NAME")
    p.add_argument("-o", "--output", required=True, help="PNG to write the result to")
    p.add_argument("--side-by-side", metavar="PATH", help="also write content | style | result as a PNG")
    _add_knobs(p, style)
    # One thread by default: the operations are small (3-channel convolutions, Grams of 64-128 maps), so a
    # second thread gains little on an idle machine and loses much on a busy one (docs/applications.md).
    p.add_argument("--threads", type=argtypes.threads, default=1, metavar="N", help="CPU threads (default 1)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)


def _add_knobs(p, style) -> None:
    """The optimisation's settings, defaults from convzoo.apps.style."""
    p.add_argument("--size", type=argtypes.integer(16, 1024), default=style.DEFAULT_SIZE,
                   help=f"the result's longer side in pixels (default {style.DEFAULT_SIZE})")
    p.add_argument("--steps", type=argtypes.integer(1, 10_000), default=style.DEFAULT_STEPS,
                   help=f"loss evaluations (L-BFGS) or updates (Adam) (default {style.DEFAULT_STEPS})")
    p.add_argument("--style-weight", type=argtypes.number(0, 1e15), default=style.DEFAULT_STYLE_WEIGHT,
                   help=f"weight of the Gram-matrix loss (default {style.DEFAULT_STYLE_WEIGHT:g})")
    p.add_argument("--content-weight", type=argtypes.number(0, 1e15), default=style.DEFAULT_CONTENT_WEIGHT,
                   help=f"weight of the feature loss (default {style.DEFAULT_CONTENT_WEIGHT:g})")
    p.add_argument("--content-layers", metavar="A,B",
                   help="layers whose features are kept (default: the network's)")
    p.add_argument("--style-layers", metavar="A,B,C",
                   help="layers whose Gram matrices are matched (default: the network's)")
    p.add_argument("--features", default="random", metavar="random|convzoo:CKPT|vgg19:PATH",
                   help="the feature network (default random: random-weight multi-scale convolutions)")
    p.add_argument("--optimizer", choices=("lbfgs", "adam"), default="lbfgs", help="default lbfgs")
    p.add_argument("--noise", type=argtypes.number(0, 1), default=style.DEFAULT_NOISE,
                   help=f"uniform noise added to the starting image, 0..1 (default {style.DEFAULT_NOISE:g})")
    p.add_argument("--seed", type=argtypes.non_negative, default=0,
                   help="seeds the starting noise (default 0)")



def run(args) -> Result:
    import torch

    from ..apps import style

    outputs = [args.output] + ([args.side_by_side] if args.side_by_side else [])
    for path in outputs:  # before minutes of work, not after
        style.check_output(path)
    torch.set_num_threads(args.threads)
    with _ProgressBar(args.steps) as bar:
        result = style.stylize(args.content, args.style, size=args.size, steps=args.steps,
                               style_weight=args.style_weight, content_weight=args.content_weight,
                               content_layers=_names(args.content_layers),
                               style_layers=_names(args.style_layers),
                               features=args.features, optimizer=args.optimizer, noise=args.noise,
                               seed=args.seed, progress=bar.update)
    written = style.write_result(result, args.output, args.side_by_side)
    data = {**result.to_dict(), "written": [str(p) for p in written], "steps_run": len(result.history)}
    width, height = data["size"]
    return Result(data, [
        (f"content loss {result.content_loss:.4g}, style loss {result.style_loss:.4g} "
         f"(from {result.history[0]['style']:.4g}); {width}x{height}, {len(result.history)} steps, "
         f"{result.seconds:.1f} s"),
        f"wrote {', '.join(map(str, written))}"], indent=2)


def _names(text: str | None) -> list[str] | None:
    return [name.strip() for name in text.split(",") if name.strip()] if text else None


class _ProgressBar:
    """A tqdm bar on stderr (only on a terminal) fed by stylize's progress callback."""

    def __init__(self, steps: int):
        from ..progress import tqdm

        self.bar = tqdm(total=steps, unit="step", leave=False, disable=None)

    def update(self, step: int, steps: int, losses: dict) -> None:
        self.bar.update(step - self.bar.n)
        self.bar.set_postfix(content=f"{losses['content']:.3g}", style=f"{losses['style']:.3g}",
                             refresh=False)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.bar.close()
