"""Turn any picture of a digit or a garment into the 28x28 image the dataset's networks expect.

MNIST was made by scaling each NIST digit (light ink on a dark field) so that its longer side is
20 pixels, keeping the aspect ratio, with anti-aliasing, and placing it in a 28x28 field with its
centre of mass at the centre (pixel (14, 14) as measured on the real digits). `mnist_style` does
the same to a canvas drawing, a scan or a photo, so a digit drawn large or small, anywhere, reaches
the network the way the training digits did:

1. grey levels (alpha composited onto white, EXIF rotation applied);
2. a light background (the median of the border pixels is light) is inverted to light-on-dark;
3. the background level is estimated robustly (Otsu's split, then median + 3 MADs of the
   background side) and subtracted, and the ink level (99th percentile of the ink side) is
   stretched to 255 -- paper texture, gradients and JPEG noise fall below the background level;
4. crop to the ink (a sliver of at most 0.2% of the ink pixels at an edge is left out, so lone
   specks do not stretch the box), scale, centre.

Fashion-MNIST was made differently (trim, longer side to 28, centred in the field), so
`fashion_style` inverts a light background, subtracts the background level without stretching
the garment's own shading, trims to the object, scales the longer side to 28 and centres the box.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConvzooError

FIELD = 28  # output side, pixels
DIGIT_BOX = 20  # MNIST's longer side of the digit inside the field
MNIST_CENTRE = 14.0  # centre of mass of the real MNIST digits (row and column), measured
MIN_CONTRAST = 32  # ink less than this many grey levels above the background counts as no ink
WORK_SIDE = 4 * 20  # resolution (longer side) at which strokes are measured and evened
STROKE_TARGET = 8.0  # MNIST's median stroke width at WORK_SIDE (measured on the 10k digits)
STROKE_RANGE = (4.5, 14.0)  # MNIST's 1st to 99th percentile at WORK_SIDE: left alone
MAX_PASSES = 10
SPECKS = 0.002  # fraction of the ink pixels that may lie outside the crop box


@dataclass
class Prepared:
    image: np.ndarray  # (28, 28) uint8, light on dark, as the network sees it
    inverted: bool  # the picture had a light background
    empty: bool  # no ink found: the image is all zeros


def to_grey(img) -> np.ndarray:
    """A Pillow image as (H, W) uint8 grey levels; transparency composited onto white."""
    from PIL import Image, ImageOps

    img = ImageOps.exif_transpose(img)
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, rgba)
    return np.asarray(img.convert("L"))


def image_from_pixels(width, height, pixels):
    """A Pillow image from a flat list of grey (width*height) or RGBA (4*width*height) values 0-255."""
    from PIL import Image

    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (width, height)):
        raise ConvzooError("width and height must be integers")
    if width < 1 or height < 1:
        raise ConvzooError("width and height must be positive")
    try:
        values = np.asarray(pixels)
    except (ValueError, TypeError, OverflowError):  # ragged nesting, huge integers
        raise ConvzooError("pixels must be a flat list of numbers 0-255") from None
    numeric = np.issubdtype(values.dtype, np.integer) or np.issubdtype(values.dtype, np.floating)
    if values.ndim != 1 or not numeric:
        raise ConvzooError("pixels must be a flat list of numbers 0-255")
    if values.size and not (np.isfinite(values).all() and values.min() >= 0 and values.max() <= 255):
        raise ConvzooError("pixels must lie in 0-255")
    if values.size == width * height:
        return Image.fromarray(values.astype(np.uint8).reshape(height, width), "L")
    if values.size == 4 * width * height:
        return Image.fromarray(values.astype(np.uint8).reshape(height, width, 4), "RGBA")
    raise ConvzooError(f"pixels has {values.size} values; a {width}x{height} image needs "
                       f"{width * height} (grey) or {4 * width * height} (RGBA)")


def light_on_dark(grey: np.ndarray) -> tuple[np.ndarray, bool]:
    """(H, W) uint8, inverted when the border (where the background is) is mostly light."""
    border = np.concatenate([grey[0], grey[-1], grey[1:-1, 0], grey[1:-1, -1]])
    inverted = bool(np.median(border) > 127)
    return (255 - grey if inverted else grey), inverted


def otsu_threshold(hist: np.ndarray) -> int:
    """The grey level t that best splits a 256-bin histogram into [0, t) and [t, 255] (Otsu, 1979)."""
    levels = np.arange(256)
    weight_low = np.cumsum(hist)[:-1]  # pixels below t = 1..255
    weight_high = weight_low[-1] + hist[-1] - weight_low
    mass_low = np.cumsum(hist * levels)[:-1]
    mean_low = mass_low / np.maximum(weight_low, 1)
    mean_high = (mass_low[-1] + 255 * hist[-1] - mass_low) / np.maximum(weight_high, 1)
    between = weight_low * weight_high * (mean_low - mean_high) ** 2
    return int(np.argmax(between)) + 1


def _quantile(hist: np.ndarray, q: float) -> int:
    """The grey level below which a fraction q of a histogram's pixels lie."""
    cumulative = np.cumsum(hist)
    return int(np.searchsorted(cumulative, q * cumulative[-1]))


def background_and_ink(x: np.ndarray) -> tuple[float, float]:
    """(background level, ink level) of a light-on-dark uint8 picture, robust to noise and gradients:
    the background side of Otsu's split gives median + 3 MADs, the ink side its 99th percentile.
    All from one histogram, so a large photo costs one pass over its pixels."""
    hist = np.bincount(x.ravel(), minlength=256).astype(np.float64)
    t = otsu_threshold(hist)
    low, high = hist.copy(), hist.copy()
    low[t:], high[:t] = 0, 0
    if not low.sum() or not high.sum():
        level = float(np.flatnonzero(hist)[0])
        return level, level
    median = _quantile(low, 0.5)
    deviations = np.bincount(np.abs(np.arange(256) - median), weights=low, minlength=256)
    mad = _quantile(deviations, 0.5)
    background = min(median + 3 * 1.4826 * mad, t - 0.5)
    return float(background), float(_quantile(high, 0.99))


def _span(counts: np.ndarray, allowance: float) -> slice:
    """Indices from the first to the last where more than `allowance` ink pixels lie beyond."""
    first = int(np.searchsorted(np.cumsum(counts), allowance, side="right"))
    last = len(counts) - int(np.searchsorted(np.cumsum(counts[::-1]), allowance, side="right"))
    return slice(first, last)


def _ink_box(ink: np.ndarray) -> tuple[slice, slice] | None:
    """Rows and columns holding ink (above a quarter of the ink level). A sliver of at most
    SPECKS of the ink pixels at an edge is left out, so lone specks of noise in a photo do not
    stretch the box; on a 28x28 digit that allowance is below one pixel and nothing is cut."""
    mask = ink > 0.25 * ink.max()
    total = int(mask.sum())
    if not total:
        return None
    allowance = SPECKS * total
    return _span(mask.sum(1), allowance), _span(mask.sum(0), allowance)


def _scale_longer_side(ink: np.ndarray, side: int) -> np.ndarray:
    """Resize so the longer side is `side` pixels, keeping the aspect ratio (anti-aliased)."""
    from PIL import Image

    h, w = ink.shape
    scale = side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    # Pillow's filters widen with the reduction factor: true anti-aliasing (Lanczos: the sharpest).
    small = Image.fromarray(ink.astype(np.float32), "F").resize(size, Image.Resampling.LANCZOS)
    return np.clip(np.asarray(small), 0, 255)


def _place(small: np.ndarray, top: int, left: int) -> np.ndarray:
    """Paste `small` into an empty 28x28 field at (top, left), clipping what falls outside."""
    field = np.zeros((FIELD, FIELD), np.float32)
    h, w = small.shape
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + h, FIELD), min(left + w, FIELD)
    if y1 > y0 and x1 > x0:
        field[y0:y1, x0:x1] = small[y0 - top:y1 - top, x0 - left:x1 - left]
    return field


def _prepare(img, stretch_ink: bool) -> tuple[np.ndarray | None, bool]:
    """(the cropped light-on-dark ink as floats 0-255, or None if there is none; inverted?)."""
    x, inverted = light_on_dark(to_grey(img))
    background, ink_level = background_and_ink(x)
    if ink_level - background < MIN_CONTRAST:
        return None, inverted
    top = ink_level if stretch_ink else 255.0
    ink = np.clip((x - np.float32(background)) * np.float32(255.0 / (top - background)), 0, 255)
    box = _ink_box(ink)
    return (ink[box] if box else None), inverted


def stroke_width(ink: np.ndarray) -> float:
    """Typical stroke width in pixels: twice the ink area over its outline (a stroke of length L
    and width w has area Lw and outline ~2L)."""
    mask = np.pad(ink > 127, 1)
    outline = (mask[1:] != mask[:-1]).sum() + (mask[:, 1:] != mask[:, :-1]).sum()
    return 2 * float(mask.sum()) / max(int(outline), 1)


def _even_strokes(ink: np.ndarray) -> np.ndarray:
    """The cropped ink with MNIST's stroke width, when it is far off.

    A pen of fixed width makes a small drawing bold and a large one thin once scaled to the
    20-pixel box; MNIST's pen strokes were about 2 pixels in that box. Outside the range of 98% of
    MNIST's digits the strokes are thinned or thickened (3x3 min or max filters at 4x the box's
    resolution, where a pass changes the width by half a final pixel); digits within it, like
    MNIST's own, are left alone."""
    from PIL import Image, ImageFilter

    work = _scale_longer_side(ink, WORK_SIDE)
    width = stroke_width(work)
    if STROKE_RANGE[0] <= width <= STROKE_RANGE[1]:
        return ink
    passes = min(round(abs(width - STROKE_TARGET) / 2), MAX_PASSES)
    rank = ImageFilter.MinFilter(3) if width > STROKE_TARGET else ImageFilter.MaxFilter(3)
    picture = Image.fromarray(np.pad(work, passes + 1).astype(np.uint8), "L")  # room to grow
    for _ in range(passes):
        picture = picture.filter(rank)
    work = np.asarray(picture, np.float32)
    rows, cols = np.flatnonzero(work.max(1) > 0), np.flatnonzero(work.max(0) > 0)
    if not rows.size:  # thinned away entirely (cannot happen with whole strokes; be safe)
        return ink
    return work[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def mnist_style(img) -> Prepared:
    """A digit picture as an MNIST digit: 20-pixel box, centre of mass at the field's centre."""
    ink, inverted = _prepare(img, stretch_ink=True)
    if ink is None:
        return Prepared(np.zeros((FIELD, FIELD), np.uint8), inverted, empty=True)
    small = _scale_longer_side(_even_strokes(ink), DIGIT_BOX)  # (h, w), max(h, w) == 20
    mass = small.sum()
    rows, cols = np.indices(small.shape)
    com = ((rows * small).sum() / mass, (cols * small).sum() / mass)
    field = _place(small, round(MNIST_CENTRE - com[0]), round(MNIST_CENTRE - com[1]))
    return Prepared(np.round(field).astype(np.uint8), inverted, empty=False)


def fashion_style(img) -> Prepared:
    """A garment picture as Fashion-MNIST: trimmed, longer side 28, centred by its box."""
    ink, inverted = _prepare(img, stretch_ink=False)
    if ink is None:
        return Prepared(np.zeros((FIELD, FIELD), np.uint8), inverted, empty=True)
    small = _scale_longer_side(ink, FIELD)
    h, w = small.shape
    field = _place(small, (FIELD - h) // 2, (FIELD - w) // 2)
    return Prepared(np.round(field).astype(np.uint8), inverted, empty=False)


STYLES = {"mnist": mnist_style, "mnist-sample": mnist_style, "fashion-mnist": fashion_style}


def style_for(dataset: str):
    """The preprocessing made for `dataset`, or None when plain resizing is right."""
    return STYLES.get(dataset)
