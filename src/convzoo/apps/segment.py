"""Label every pixel of images of any size with a segmentation checkpoint: `convzoo segment`.

The image is prepared as the model's training data was (`infer.segmentation`, the path `predict`
shares: grey or RGB, a light grey picture inverted to the scenes' light-on-dark, normalised by the
checkpoint's mean and std), predicted whole or tile by tile (`infer.tiling`: the paper's overlap-tile
strategy for the valid U-Net, centres of margin-padded tiles for padded networks), and written as
a palette PNG mask and an overlay: the picture with each labelled pixel blended with its class's
colour (the mask's palette).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..atomic import atomic_path, cannot_write, new_temporary
from ..errors import ConvzooError
from ..infer import mask_palette, open_image_header, read_image, write_mask
from ..infer.segmentation import as_picture, class_pixels, prepare_image
from ..infer.tiling import (
    MARGIN,
    WHOLE_PIXELS,
    Geometry,
    TilePlan,
    input_channels,
    plan_tiles,
    probe_geometry,
    tiled_logits,
)
from ..train.checkpoint import model_from_checkpoint, resolve_checkpoint

ALPHA = 0.5  # overlay: half picture, half class colour


def segment_image(model: nn.Module, image, *, tile: int | None = None, mean=(0.0,), std=(1.0,),
                  invert: bool | None = None, margin: int = MARGIN, whole_pixels: int = WHOLE_PIXELS,
                  geometry: Geometry | None = None) -> tuple[np.ndarray, torch.Tensor]:
    """(H, W) uint8 class map and (classes, H, W) float32 logits (softmax over dim 0 gives the
    probabilities) for an image of any size. `tile`, `margin`, `whole_pixels`: see `plan_tiles`;
    `geometry` saves the probes when the same model segments many images."""
    geometry = geometry or probe_geometry(model)
    x = prepare_image(image, input_channels(model), mean, std, invert)
    plan = plan_tiles(geometry, *x.shape[-2:], tile, margin=margin, whole_pixels=whole_pixels)
    device = next(model.parameters()).device
    logits = tiled_logits(model, x.to(device), plan, geometry)
    return logits.argmax(0).numpy().astype(np.uint8), logits


def overlay_image(img, mask: np.ndarray, classes: int, alpha: float = ALPHA):
    """The picture in colour, each pixel of class k > 0 blended with the mask's colour k (RGB Pillow)."""
    from PIL import Image

    rgb = np.asarray(as_picture(img).convert("RGB"), dtype=np.float32)  # (H, W, 3)
    palette = np.asarray(mask_palette(classes), dtype=np.float32).reshape(-1, 3)
    tinted = np.where(mask[..., None] > 0, (1 - alpha) * rgb + alpha * palette[mask], rgb)
    return Image.fromarray(tinted.round().astype(np.uint8))


@dataclass
class Segmentation:
    mask: np.ndarray  # (H, W) uint8 class indices
    plan: TilePlan


class Segmenter:
    """A segmentation checkpoint ready to label images of any size."""

    def __init__(self, checkpoint: str | Path, code: str | None = None):
        self.path = resolve_checkpoint(checkpoint)
        self.model, payload = model_from_checkpoint(self.path, code=code)
        if payload.get("task", "classification") != "segmentation":
            raise ConvzooError(f"{checkpoint}: {payload['model']['name']} is a classification model, not a "
                               "segmentation model (train one such as unet_padded on digit-scenes)")
        data = payload["data"]
        self.classes = list(data["classes"])
        self.channels, self.mean, self.std = data["shape"][0], data["mean"], data["std"]
        self.geometry = probe_geometry(self.model, self.channels)

    @torch.inference_mode()
    def segment(self, img, tile: int | None = None) -> Segmentation:
        x = prepare_image(img, self.channels, self.mean, self.std)  # (1, C, H, W)
        plan = plan_tiles(self.geometry, *x.shape[-2:], tile)
        return Segmentation(tiled_logits(self.model, x, plan, self.geometry).argmax(0).numpy().astype(np.uint8),
                            plan)


def output_paths(images: list, out: str | Path, overlay: str | Path | None = None) -> list[tuple[Path, Path]]:
    """(mask, overlay) per image: for one image `out` is the mask (overlay beside it as
    STEM.overlay.png unless given), unless it is a folder; for several, a folder of
    IMAGE.mask.png and IMAGE.overlay.png."""
    out = Path(out)
    if len(images) == 1 and not out.is_dir():
        pairs = [(out, Path(overlay) if overlay else out.with_name(f"{out.stem}.overlay.png"))]
    else:
        if overlay and len(images) > 1:
            raise ConvzooError("--overlay names one file: with several images the overlays go to the -o folder")
        if out.exists() and not out.is_dir():
            raise ConvzooError(f"-o {out}: a file is in the way (several images are written to a folder)")
        stems = [Path(image).stem for image in images]
        twice = sorted({s for s in stems if stems.count(s) > 1})
        if twice:
            raise ConvzooError(f"two images named {twice[0]}: their masks would overwrite each other")
        pairs = [(out / f"{s}.mask.png", Path(overlay) if overlay else out / f"{s}.overlay.png") for s in stems]
    for path in pairs[0] if len(images) == 1 else ():
        if path.suffix.lower() != ".png":
            raise ConvzooError(f"{path}: masks and overlays are PNG files; name it .png")
    inputs = {Path(image).resolve() for image in images}
    for mask, tinted in pairs:
        if mask.resolve() == tinted.resolve():
            raise ConvzooError(f"{mask}: the mask and the overlay would be the same file")
        if {mask.resolve(), tinted.resolve()} & inputs:
            raise ConvzooError(f"{mask if mask.resolve() in inputs else tinted}: would overwrite an input image")
    return pairs


def _check_writable(path: Path) -> None:
    new_temporary(path).unlink()  # a one-line "cannot write PATH (why)" if it cannot be


def _write_overlay(img, path: Path) -> None:
    try:
        with atomic_path(path) as tmp:
            img.save(tmp, format="PNG")
    except OSError as exc:
        raise cannot_write(path, exc) from None


def segment_files(checkpoint: str | Path, images: list, out: str | Path, *, overlay: str | Path | None = None,
                  tile: int | None = None, code: str | None = None) -> list[dict]:
    """Segment each image and write its mask and overlay. Every input, the checkpoint and every
    output path are checked before the first prediction, so a mistake writes nothing."""
    for image in images:
        open_image_header(image).close()  # missing, not a PNG/JPEG, or over the pixel limit
    pairs = output_paths(images, out, overlay)
    segmenter = Segmenter(checkpoint, code=code)
    for mask_path, overlay_path in pairs:
        _check_writable(mask_path)
        _check_writable(overlay_path)
    results = []
    for image, (mask_path, overlay_path) in zip(images, pairs):
        img = read_image(image)
        result = segmenter.segment(img, tile)
        write_mask(result.mask, mask_path, len(segmenter.classes))
        _write_overlay(overlay_image(img, result.mask, len(segmenter.classes)), overlay_path)
        height, width = result.mask.shape
        results.append({"image": str(image), "mask": str(mask_path), "overlay": str(overlay_path),
                        "width": width, "height": height, **result.plan.describe(),
                        **class_pixels(result.mask, segmenter.classes)})
    return results
