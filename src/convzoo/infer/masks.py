"""Segmentation masks as palette PNGs (pixel value = class index)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import ConvzooError


def mask_palette(classes: int) -> list[int]:
    """A flat RGB palette: black background, then well-separated colours (tab20's first ones)."""
    import matplotlib

    colours = [(0, 0, 0)] + [tuple(round(255 * c) for c in matplotlib.colormaps["tab10"](i % 10)[:3])
                             for i in range(classes - 1)]
    return [v for rgb in colours for v in rgb]


def write_mask(mask: np.ndarray, path: str | Path, classes: int) -> Path:
    """A (H, W) class-index mask as a palette PNG (pixel value = class index), written atomically."""
    from PIL import Image

    from ..atomic import atomic_path

    img = Image.fromarray(mask.astype(np.uint8), mode="P")
    img.putpalette(mask_palette(classes))
    try:
        with atomic_path(path) as tmp:
            img.save(tmp, format="PNG")
    except OSError as exc:
        raise ConvzooError(f"cannot write {path} ({exc.strerror or exc})") from None
    return Path(path)
