"""`convzoo summary`, `convzoo complexity`, `convzoo receptive-field`: a model's numbers."""

from __future__ import annotations

from dataclasses import asdict

from . import argtypes
from .output import Result

MODEL_HELP = ("a registered model or your FILE.py:Class / package.module:Class (untrained), or a checkpoint: "
              "file, run directory or pretrained name")
INPUT_HELP = "input CxHxW, e.g. 1x28x28 (default: the model's registry input, or the checkpoint's data)"


def register(sub) -> None:
    p = sub.add_parser("summary", help="per-layer output shapes, parameters and multiply-adds",
                       description="One row per layer: output shape, parameters, multiply-adds (MACs; "
                                   "1 MAC = 2 FLOPs); totals with activation and parameter memory.")
    p.add_argument("model", help=MODEL_HELP)
    p.add_argument("--input", help=INPUT_HELP)
    _add_user_flags(p)
    p.add_argument("--depth", type=argtypes.positive, help="show modules nested at most this deep (default: every module)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run_summary)

    p = sub.add_parser("complexity", help="the lectures' complexity table: parameters and MACs per layer group",
                       description="Parameters and multiply-adds per layer group (conv1, conv2, the other convs, "
                                   "each dense layer), the ratio between models, the lecture's rounded figures "
                                   "against the exact ones, and the 'curse of the last layer'.")
    p.add_argument("--models", default="alexnet_small,lenet",
                   help="comma-separated models (default alexnet_small,lenet); NAME@CxHxW sets the input")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run_complexity)

    p = sub.add_parser("receptive-field", help="each layer's receptive field, jump and start",
                       description="Receptive field, jump and start of every layer's output, from the layer "
                                   "geometry; branches (residual, inception) take the union of their fields.")
    p.add_argument("model", help=MODEL_HELP)
    p.add_argument("--input", help=INPUT_HELP)
    _add_user_flags(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run_receptive)


def _add_user_flags(p) -> None:
    argtypes.add_model_arg_flag(p)
    argtypes.add_code_flag(p)


def _load(args):
    from ..analysis.loading import load_model

    return load_model(args.model, args.input, weights=False, device="meta", code=args.code,
                      model_args=args.model_arg)


def run_summary(args) -> Result:
    from ..analysis.summary import summarize

    loaded = _load(args)
    summary = summarize(loaded.model, loaded.input_shape, args.depth, loaded.label)
    return Result(summary.to_dict(), summary.table().blocks, indent=2)


def run_complexity(args) -> Result:
    from ..analysis.complexity import compare
    from ..errors import ConvzooError

    refs = [r.strip() for r in args.models.split(",") if r.strip()]
    if not refs:
        raise ConvzooError("--models needs at least one model name")
    data = compare(refs)
    return Result({**data, "ratios": _ratios(data)}, data.table().blocks, indent=2)


def _ratios(data: dict) -> dict:
    """The numbers the text derives: two models' ratio columns, by measure and group, and the
    lecture's AlexNet / LeNet line (exact, and from the slides' totals)."""
    from ..analysis.complexity import LECTURE, lecture_value

    models = {m["name"]: m for m in data["models"]}
    ratios: dict = {}
    if len(data["models"]) == 2:
        first, second = ({g["name"]: g for g in m["groups"]} for m in data["models"])
        ratios = {key: {name: g[key] / second[name][key] for name, g in first.items()
                        if name in second and g[key] and second[name][key]} for key in ("params", "macs")}
    if "alexnet_small" in models and "lenet" in models:
        big, small = models["alexnet_small"], models["lenet"]
        (lp_big, lm_big), (lp_small, lm_small) = (map(lecture_value, LECTURE[m]["total"]) for m in ("alexnet_small", "lenet"))
        ratios["alexnet_small/lenet"] = {"params": big["params"] / small["params"], "macs": big["macs"] / small["macs"],
                                         "lecture_params": lp_big / lp_small, "lecture_macs": lm_big / lm_small}
    return ratios


def run_receptive(args) -> Result:
    from ..analysis.receptive import receptive_fields

    loaded = _load(args)
    rows = receptive_fields(loaded.model, loaded.input_shape, loaded.label)
    # asdict turns each (Axis, Axis) field into two {rf, jump, start} dicts (H, then W).
    return Result([asdict(r) for r in rows], rows.table().blocks, indent=2)
