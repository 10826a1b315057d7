"""`convzoo kernels list | apply IMAGE --kernel NAME -o OUT.png`: the lectures' classic kernels.

`apply` runs convzoo.reference's NumPy conv2d (not torch) on a grayscale copy of the picture, padded
to keep its size, and draws the picture and the response side by side.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ConvzooError, unknown_name

MAX_SIDE = 1024  # larger pictures are shrunk first: the figure could not show more, and it is faster


def register(sub) -> None:
    p = sub.add_parser("kernels", help="the classic image kernels: list them or apply one to a picture",
                       description=__doc__.splitlines()[0])
    actions = p.add_subparsers(dest="kernels_action", metavar="ACTION", parser_class=type(p))
    actions.required = True
    actions.add_parser("list", help="names, what each one does, and its weights").set_defaults(func=run_list)
    apply = actions.add_parser("apply", help="apply a kernel to a picture and write a side-by-side PNG")
    apply.add_argument("image", help="any picture Pillow reads (converted to grayscale)")
    apply.add_argument("--kernel", "-k", required=True, help="a name from `convzoo kernels list`")
    apply.add_argument("-o", "--output", help="PNG to write (default: IMAGE-KERNEL.png in this folder)")
    apply.set_defaults(func=run_apply)


def run_list(args) -> int:
    from ..reference.kernels import KERNELS

    width = max(map(len, KERNELS)) + 2
    for kernel in KERNELS.values():
        print(f"{kernel.name:<{width}}{kernel.description}")
        for row in kernel.weights:
            print(" " * width + "  ".join(f"{value:>6g}" for value in row))
    return 0


def run_apply(args) -> int:
    import numpy as np

    from ..reference import conv2d_forward
    from ..reference.kernels import KERNELS, kernel_names

    if args.kernel not in KERNELS:
        raise unknown_name("kernel", args.kernel, kernel_names())
    kernel = KERNELS[args.kernel]
    source = Path(args.image)
    output = Path(args.output or f"{source.stem}-{kernel.name}.png")
    if output.suffix.lower() != ".png":
        raise ConvzooError(f"the output is a PNG: give a name ending in .png, not {output.name!r}")
    if not output.parent.is_dir():
        raise ConvzooError(f"output folder {str(output.parent)!r} does not exist")

    picture = _read_grayscale(source)
    image = np.asarray(picture, dtype=np.float32) / 255  # (H, W) in [0, 1]
    weights = kernel.weights.astype(np.float32)[None, None]  # (1, 1, 3, 3)
    response, _ = conv2d_forward(image[None, None], weights, padding=weights.shape[-1] // 2)
    _write_figure(image, response[0, 0], kernel, source.name, output)
    print(f"wrote {output} ({kernel.name} on {source.name}, {image.shape[1]}x{image.shape[0]} grayscale)")
    return 0


def _read_grayscale(path: Path):
    from PIL import Image, UnidentifiedImageError

    if not path.is_file():
        raise ConvzooError(f"no such image file: {str(path)!r}")
    try:
        with Image.open(path) as opened:
            picture = opened.convert("L")
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError) as exc:
        raise ConvzooError(f"cannot read {str(path)!r} as an image ({type(exc).__name__})") from None
    if max(picture.size) > MAX_SIDE:
        picture.thumbnail((MAX_SIDE, MAX_SIDE))
    return picture


def _write_figure(image, response, kernel, source_name: str, output: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from ..atomic import save_figure

    figure = Figure(figsize=(10, 5), layout="constrained")
    FigureCanvasAgg(figure)
    left, right = figure.subplots(1, 2)
    left.imshow(image, cmap="gray", vmin=0, vmax=1)
    left.set_title(f"{source_name} (grayscale)")
    shown = right.imshow(response, cmap="gray")
    weights = " / ".join(" ".join(f"{v:g}" for v in row) for row in kernel.weights)
    right.set_title(f"{kernel.name}: {weights}", fontsize=9)
    figure.colorbar(shown, ax=right, shrink=0.8)
    for axes in (left, right):
        axes.set_axis_off()
    save_figure(figure, output, format="png", dpi=100)  # atomic: a reader never sees half a PNG
