"""`convzoo predict CKPT IMAGE...`: classify image files (or segment them) with a checkpoint or a
baseline's directory; a speech model's checkpoint classifies WAV files (`convzoo predict CKPT clip.wav`)."""

from __future__ import annotations

import sys

from . import argtypes
from .output import Result


def register(sub) -> None:
    p = sub.add_parser("predict", help="classify image files (or segment them; or WAV files, for a speech "
                                       "model) with a checkpoint")
    p.add_argument("checkpoint", help="checkpoint file, run directory, or a pretrained name")
    p.add_argument("images", nargs="+", metavar="IMAGE",
                   help="PNG or JPEG files; for a speech model, PCM WAV files of at most 10 s")
    p.add_argument("--top-k", type=argtypes.positive, default=3, metavar="K", help="answers per image (default 3)")
    p.add_argument("-o", "--out", metavar="DIR",
                   help="segmentation: folder for the masks (IMAGE.mask.png, default: beside each image)")
    argtypes.add_code_flag(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run_predict)


def run_predict(args) -> Result:
    """Every good file's answer on stdout; each file without one named on a stderr line of its own
    (`convzoo: error: FILE: why`), and then a non-zero exit."""
    from ..baselines import is_baseline_dir

    if is_baseline_dir(args.checkpoint):
        return _baseline_predict(args)
    from ..infer import Predictor

    predictor = Predictor(args.checkpoint, code=args.code)
    if predictor.task == "segmentation":
        results = predictor.segment_files(args.images, args.out)
        return _answers(results, lambda r: f"{', '.join(r['found']) or 'only background'} -> {r['mask']}")
    results = predictor.predict_files(args.images, args.top_k)
    return _answers(results, lambda r: ", ".join(f"{t['class']} {t['probability']:.3f}" for t in r["top"]))


def _answers(results: list[dict], answer) -> Result:
    """One line per good file (`answer(result)` after its name); each bad one on stderr, exit 1."""
    for r in results:
        if "error" in r:
            print(f"convzoo: error: {r['image']}: {r['error']}", file=sys.stderr)
    text = [f"{r['image']}: {answer(r)}" for r in results if "error" not in r]
    return Result(results, text, code=1 if any("error" in r for r in results) else 0, indent=2)


def _baseline_predict(args) -> Result:
    """`convzoo predict BASELINE_DIR IMAGE...`: a probability where the baseline has one, else a score."""
    from ..baselines import predict_saved

    return _answers(predict_saved(args.checkpoint, args.images, args.top_k), lambda r: ", ".join(
        f"{t['class']} {t['probability']:.3f}" if "probability" in t else f"{t['class']} (score {t['score']:.3f})"
        for t in r["top"]))
