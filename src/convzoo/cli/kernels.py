"""`convzoo kernels list | apply IMAGE --kernel NAME -o OUT.png`: the lectures' classic kernels
(the work is in convzoo.analysis.kernels)."""

from __future__ import annotations

from pathlib import Path

from .output import Result


def register(sub) -> None:
    p = sub.add_parser("kernels", help="the classic image kernels: list them or apply one to a picture",
                       description=__doc__.splitlines()[0])
    actions = p.add_subparsers(dest="kernels_action", metavar="ACTION", parser_class=type(p))
    actions.required = True
    listing = actions.add_parser("list", help="names, what each one does, and its weights")
    listing.add_argument("--json", action="store_true", help="print the kernels as JSON")
    listing.set_defaults(func=run_list)
    apply = actions.add_parser("apply", help="apply a kernel to a picture and write a side-by-side PNG")
    apply.add_argument("image", help="a PNG or JPEG picture (converted to grayscale)")
    apply.add_argument("--kernel", "-k", required=True, help="a name from `convzoo kernels list`")
    apply.add_argument("-o", "--output", help="PNG to write (default: IMAGE-KERNEL.png in this folder)")
    apply.add_argument("--json", action="store_true", help="print the result as JSON")
    apply.set_defaults(func=run_apply)


def run_list(args) -> Result:
    from ..reference.kernels import KERNELS

    width = max(map(len, KERNELS)) + 2
    text = []
    for kernel in KERNELS.values():  # the name and what it does, then its weights as a small matrix
        text.append(f"{kernel.name:<{width}}{kernel.description}")
        text += [" " * width + "  ".join(f"{value:>6g}" for value in row) for row in kernel.weights]
    return Result([{"name": k.name, "description": k.description, "weights": k.weights.tolist()}
                   for k in KERNELS.values()], text)


def run_apply(args) -> Result:
    from ..analysis.kernels import apply_kernel

    result = apply_kernel(args.image, args.kernel, args.output)
    return Result(result.to_dict(), [(f"wrote {result.output} ({result.kernel} on {Path(result.source).name}, "
                                     f"{result.width}x{result.height} grayscale)")])
