"""The lectures' classic kernels applied to a picture: convzoo.reference's NumPy conv2d (not torch)
on a grayscale copy, padded to keep its size, drawn beside the picture."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import ConvzooError, unknown_name

MAX_SIDE = 1024  # larger pictures are shrunk first: the figure could not show more, and it is faster


@dataclass
class KernelResponse:
    kernel: str
    source: str
    output: str
    width: int
    height: int
    response_min: float
    response_max: float

    def to_dict(self) -> dict:
        return dict(vars(self))


def apply_kernel(image: str | Path, kernel_name: str, output: str | Path | None = None) -> KernelResponse:
    """Convolve the grayscale `image` with kernel `kernel_name` and write the side-by-side PNG
    (default IMAGE-KERNEL.png in the current folder)."""
    import numpy as np

    from ..infer import read_image  # the one image reader (PNG/JPEG, pixel limit)
    from ..reference import conv2d_forward
    from ..reference.kernels import KERNELS, kernel_names

    if kernel_name not in KERNELS:
        raise unknown_name("kernel", kernel_name, kernel_names())
    kernel = KERNELS[kernel_name]
    source = Path(image)
    output = Path(output or f"{source.stem}-{kernel.name}.png")
    if output.suffix.lower() != ".png":
        raise ConvzooError(f"the output is a PNG: give a name ending in .png, not {output.name!r}")
    if not output.parent.is_dir():
        raise ConvzooError(f"output folder {str(output.parent)!r} does not exist")
    picture = read_image(source).convert("L")
    if max(picture.size) > MAX_SIDE:
        picture.thumbnail((MAX_SIDE, MAX_SIDE))
    pixels = np.asarray(picture, dtype=np.float32) / 255  # (H, W) in [0, 1]
    weights = kernel.weights.astype(np.float32)[None, None]  # (1, 1, k, k)
    response, _ = conv2d_forward(pixels[None, None], weights, padding=weights.shape[-1] // 2)
    _write_figure(pixels, response[0, 0], kernel, source.name, output)
    return KernelResponse(kernel.name, str(source), str(output), pixels.shape[1], pixels.shape[0],
                          float(response.min()), float(response.max()))


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
