"""Reading user images safely: PNG or JPEG only, the size checked from the header before any
pixel is decoded, then converted to a model's input."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data.depth import eight_bit
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
