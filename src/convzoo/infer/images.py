"""Reading user images safely: PNG or JPEG only, the size checked from the header before any
pixel is decoded, then converted to a model's input."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import ConvzooError

MAX_SIDE = 4096
MAX_PIXELS = MAX_SIDE * MAX_SIDE
FORMATS = ("PNG", "JPEG")


class UnsupportedImage(ConvzooError):
    """Not a PNG or JPEG (the API answers 415)."""


class ImageTooLarge(ConvzooError):
    """More pixels than convzoo decodes (the API answers 413)."""


def open_image_header(source):
    """Open `source` (a path or a seekable binary file) lazily: format and size are read from the
    header, no pixel is decoded.

    Anything but a PNG or JPEG of at most 4096x4096 pixels is refused here, before `load()`, so
    a decompression bomb is never decoded (Pillow's own bomb guard stays on as a second line).
    """
    from PIL import Image, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    name = source if isinstance(source, (str, Path)) else "image"
    try:
        img = Image.open(source, formats=FORMATS)  # no other decoder is even tried
    except FileNotFoundError:
        raise ConvzooError(f"{name}: no such file") from None
    except UnidentifiedImageError:
        raise UnsupportedImage(f"{name}: not a PNG or JPEG image") from None
    except Image.DecompressionBombError:
        raise ImageTooLarge(f"{name}: more than {MAX_PIXELS:,} pixels") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ConvzooError(f"{name}: not a readable PNG or JPEG image ({type(exc).__name__})") from None
    width, height = img.size
    if width > MAX_SIDE or height > MAX_SIDE:
        raise ImageTooLarge(f"{name}: {width}x{height} is larger than {MAX_SIDE}x{MAX_SIDE} pixels")
    return img


def read_image(source):
    """A decoded Pillow image (PNG or JPEG, at most 4096x4096), or a one-line ConvzooError."""
    from PIL import Image

    img = open_image_header(source)
    name = source if isinstance(source, (str, Path)) else "image"
    try:
        img.load()
    except Image.DecompressionBombError:
        raise ImageTooLarge(f"{name}: more than {MAX_PIXELS:,} pixels") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ConvzooError(f"{name}: not a readable PNG or JPEG image ({type(exc).__name__}: "
                           f"{str(exc)[:80]})") from None
    return eight_bit(img)


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


def to_uint8_input(img, channels: int, size: tuple[int, int], dark_background: bool = False) -> np.ndarray:
    """(C, H, W) uint8 at the model's size, for datasets without a preprocessing of their own;
    with `dark_background`, a light-background grey picture is inverted."""
    from PIL import Image, ImageOps

    img = ImageOps.exif_transpose(eight_bit(img)).convert("L" if channels == 1 else "RGB")
    if dark_background and channels == 1 and np.asarray(img).mean() > 127:
        img = ImageOps.invert(img)
    img = img.resize((size[1], size[0]), Image.Resampling.LANCZOS)
    arr = np.asarray(img, dtype=np.uint8)
    return arr[None] if channels == 1 else arr.transpose(2, 0, 1)
