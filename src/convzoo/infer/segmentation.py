"""The one segmentation path, shared by `predict` (a segmentation checkpoint writes IMAGE.mask.png;
the demo) and `convzoo segment` (apps.segment). `segment`, and `predict` on a valid network (one
that loses a border), run it tile by tile (`infer.tiling`); `predict` on a padded one, in one pass:
- `prepare_image`: the picture read upright, grey or RGB as the training data, a light grey picture
  inverted to the scenes' light-on-dark, normalised as the training batches were (`Normalizer`);
- `padded_logits`: one pass over the whole image, mirror-padded to the size the network needs;
- `class_pixels`: how many pixels each class labelled.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..data import Normalizer
from ..data.depth import eight_bit

SIZE_MULTIPLE = 32  # U-Net pools four times: `padded_logits` pads inputs to a multiple of 2^5


def as_picture(img):
    """A Pillow image upright (its EXIF orientation applied); a uint8 array becomes one."""
    from PIL import Image, ImageOps

    if not isinstance(img, Image.Image):
        img = Image.fromarray(np.asarray(img, dtype=np.uint8))
    return ImageOps.exif_transpose(eight_bit(img))  # a 16-bit grey picture scaled, not clipped


def prepare_image(img, channels: int, mean=(0.0,), std=(1.0,), invert: bool | None = None) -> torch.Tensor:
    """A Pillow image or a uint8 array ((H, W) or (H, W, C)) -> (1, C, H, W) float32, normalised as
    (x/255 - mean)/std. `invert` None: a grey picture that is mostly light is inverted, since the
    scenes are light ink on black."""
    arr = np.asarray(as_picture(img).convert("L" if channels == 1 else "RGB"), dtype=np.uint8)
    if channels == 1 and (arr.mean() > 127 if invert is None else invert):
        arr = 255 - arr
    arr = arr[None] if channels == 1 else arr.transpose(2, 0, 1)  # (C, H, W)
    return Normalizer(mean, std)(torch.from_numpy(np.array(arr, order="C"))[None])


def padded_logits(model: nn.Module, x: torch.Tensor, at_least: tuple[int, int]) -> torch.Tensor:
    """(1, C, H, W) normalised image -> (classes, H, W) float32 logits in one pass: the image is
    padded at the bottom and right to a multiple of SIZE_MULTIPLE and to at least `at_least` (the
    training size), mirrored (or its edge repeated, when the padding is longer than the image),
    and the prediction cropped back."""
    h, w = x.shape[-2:]
    pad_h = max(-h % SIZE_MULTIPLE, at_least[0] - h)
    pad_w = max(-w % SIZE_MULTIPLE, at_least[1] - w)
    if pad_h or pad_w:
        mode = "reflect" if pad_h < h and pad_w < w else "replicate"
        x = torch.nn.functional.pad(x, (0, pad_w, 0, pad_h), mode=mode)
    return model(x)[0, :, :h, :w].float()  # (classes, H, W)


def class_pixels(mask: np.ndarray, classes: list[str]) -> dict:
    """{"pixels": {class: count} for the classes present, "found": those other than the background}."""
    counts = np.bincount(mask.ravel(), minlength=len(classes))
    return {"pixels": {classes[i]: int(n) for i, n in enumerate(counts) if n},
            "found": [classes[i] for i, n in enumerate(counts) if n and i]}
