"""`convzoo export`: a checkpoint as ONNX (checked with onnxruntime), safetensors + JSON config, or a
weights-only checkpoint with a model card (how the pretrained `digits` and `fashion` are made)."""

from __future__ import annotations

from . import argtypes
from .output import Result


def register(sub) -> None:
    p = sub.add_parser("export", help="export a checkpoint as ONNX or safetensors",
                       description="Export CHECKPOINT (a file, run directory or pretrained name). ONNX has a "
                                   "dynamic batch dimension and is checked against torch with onnxruntime; "
                                   "safetensors writes the weights and FILE.json, the config to rebuild the "
                                   "model (convzoo.export.load_safetensors); checkpoint writes a "
                                   "weights-only checkpoint (no optimizer/RNG state) and FILE.json, its "
                                   "model card.")
    p.add_argument("checkpoint", help="checkpoint file, run directory, or a pretrained name")
    p.add_argument("--format", required=True, choices=("onnx", "safetensors", "checkpoint"))
    p.add_argument("-o", "--output",
                   help="output file (default: NAME.onnx, NAME.safetensors or NAME.pt here)")
    p.add_argument("--command", help="checkpoint format: the training command, recorded in the model card")
    argtypes.add_code_flag(p)
    p.add_argument("--force", action="store_true",
                   help="replace an existing file that convzoo export did not write (refused otherwise)")
    p.add_argument("--json", action="store_true", help="print what was written as JSON")
    p.set_defaults(func=run)


def run(args) -> Result:
    from ..export import export
    from ..export.onnx import ONNX_TOLERANCE

    result = export(args.checkpoint, args.format, args.output, args.command, code=args.code, force=args.force)
    size = result.path.stat().st_size
    data = {"wrote": str(result.path), "bytes": size,
            "config": None if result.config_path is None else str(result.config_path),
            "max_abs_diff": result.max_abs_diff, "batch": result.batch}
    text = [f"wrote {result.path} ({size:,} bytes)"]
    if result.config_path:
        what = ("model card" if args.format == "checkpoint"
                else "config: rebuild with convzoo.export.load_safetensors")
        text.append(f"wrote {result.config_path} ({what})")
    if result.max_abs_diff is not None:
        data["tolerance"] = ONNX_TOLERANCE
        text.append(f"onnxruntime vs torch on a random batch of {result.batch}: max abs difference "
                    f"{result.max_abs_diff:.2e} (tolerance {ONNX_TOLERANCE:g})")
    return Result(data, text)
