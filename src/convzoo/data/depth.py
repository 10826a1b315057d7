"""Every picture at 8 bits per channel, its information kept (a 16-bit grey PNG is not flattened to
black and white): what reads a user's image (`infer.read_image`, segment) and an image folder's
files (`data.datasets`) go through `eight_bit`."""

from __future__ import annotations

import numpy as np


def eight_bit(img):
    """`img` with 8 bits per channel, its information kept: Pillow's own convert("L") clips 16-bit,
    32-bit and float grey at 255 (a 16-bit grey PNG becomes black and white), so those are scaled:
    I;16 and I (a PNG's 16-bit grey) by 255/65535, F from [0, 1] (or clipped to [0, 255] when its
    values are larger); CMYK becomes RGB. L, RGB, their alpha forms, P and 1 are 8-bit already
    (transparency is composited later, where the background is known). EXIF orientation is applied
    first, since a new image has no EXIF."""
    from PIL import Image, ImageOps

    if img.mode == "CMYK":
        return ImageOps.exif_transpose(img).convert("RGB")
    if not (img.mode.startswith("I") or img.mode == "F"):
        return img
    arr = np.asarray(ImageOps.exif_transpose(img), dtype=np.float64)
    if img.mode == "F":
        arr = np.nan_to_num(arr, nan=0.0, posinf=255.0, neginf=0.0)
        arr = arr * 255.0 if arr.size and arr.min() >= 0 and arr.max() <= 1 else arr
    else:
        arr = arr * (255.0 / 65535.0)
    return Image.fromarray(np.clip(np.round(arr), 0, 255).astype(np.uint8), "L")
