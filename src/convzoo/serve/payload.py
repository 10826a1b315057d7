"""An `Analysis` as the JSON the demo page draws: probabilities, the 28x28 input, feature-map tiles."""

from __future__ import annotations

import base64
import io
import math

import numpy as np

MAX_MAPS = 64  # channels shown per layer; wider layers are cut (the response says so)
GAP = 1  # pixels between tiles


def png_data_url(image: np.ndarray) -> str:
    """(H, W) grey or (3, H, W) colour uint8 as a `data:image/png;base64,...` URL."""
    from PIL import Image

    buffer = io.BytesIO()
    if image.ndim == 2:
        picture = Image.fromarray(image, "L")
    else:
        picture = Image.fromarray(image.transpose(1, 2, 0), "RGB")
    picture.save(buffer, format="PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def tile_maps(maps: np.ndarray) -> tuple[np.ndarray, int, int]:
    """(C, H, W) activations as one uint8 grid picture, scaled by the layer's range (so strong
    and weak channels can be compared); returns (picture, rows, cols)."""
    c, h, w = maps.shape
    cols = math.ceil(math.sqrt(c))
    rows = math.ceil(c / cols)
    low, high = float(maps.min()), float(maps.max())
    scaled = (maps - low) * (255.0 / (high - low)) if high > low else np.zeros_like(maps)
    grid = np.full((rows * (h + GAP) - GAP, cols * (w + GAP) - GAP), 40, np.uint8)
    for i, channel in enumerate(scaled):
        r, k = divmod(i, cols)
        grid[r * (h + GAP):r * (h + GAP) + h, k * (w + GAP):k * (w + GAP) + w] = channel.astype(np.uint8)
    return grid, rows, cols


def analysis_json(analysis, classes: list[str], model: str) -> dict:
    probabilities = [round(p, 6) for p in analysis.probabilities]
    layers = []
    for number, (module, maps) in enumerate(analysis.feature_maps, 1):
        shown = maps[:MAX_MAPS]  # (C, H, W)
        grid, rows, cols = tile_maps(shown)
        layers.append({"layer": f"conv{number}", "module": module, "channels": int(maps.shape[0]),
                       "shown": int(shown.shape[0]),
                       "height": int(maps.shape[1]), "width": int(maps.shape[2]), "rows": rows,
                       "cols": cols, "png": png_data_url(grid)})
    return {
        "model": model,
        "answer": classes[analysis.answer],
        "index": analysis.answer,
        "classes": classes,
        "probabilities": probabilities,
        "input28": analysis.prepared.image.tolist(),
        "input28_png": png_data_url(analysis.prepared.image),
        "inverted": analysis.prepared.inverted,
        "empty": analysis.prepared.empty,
        "feature_maps": layers,
    }


def segmentation_json(mask: np.ndarray, classes: list[str], model: str) -> dict:
    """A (H, W) class mask as a colour overlay (transparent background, mask_palette's colours)
    and the pixel count of each class found."""
    from ..infer.masks import mask_palette

    palette = np.array(mask_palette(len(classes)), np.uint8).reshape(-1, 3)
    rgba = np.zeros((*mask.shape, 4), np.uint8)
    rgba[..., :3] = palette[mask]
    rgba[..., 3] = np.where(mask > 0, 170, 0)
    counts = np.bincount(mask.ravel(), minlength=len(classes))
    return {"model": model, "task": "segmentation", "classes": classes, "size": list(mask.shape),
            "overlay_png": _rgba_url(rgba), "colours": [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in palette.tolist()],
            "pixels": {classes[i]: int(n) for i, n in enumerate(counts) if n},
            "found": [classes[i] for i, n in enumerate(counts) if n and i]}


def _rgba_url(rgba: np.ndarray) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, format="PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
