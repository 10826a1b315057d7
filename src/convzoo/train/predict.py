"""Use a trained checkpoint on image files: read, preprocess as the model's data, classify."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..data import Normalizer
from ..errors import ConvzooError
from .checkpoint import model_from_checkpoint

MAX_PIXELS = 4096 * 4096


def read_image(path: str | Path):
    """A decoded Pillow image, or a one-line ConvzooError for anything that is not PNG/JPEG."""
    from PIL import Image, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # decompression-bomb guard
    path = Path(path)
    try:
        img = Image.open(path)
        if img.format not in ("PNG", "JPEG"):
            raise ConvzooError(f"{path}: {img.format} images are not supported (PNG or JPEG only)")
        img.load()
        return img
    except FileNotFoundError:
        raise ConvzooError(f"{path}: no such file") from None
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError) as exc:
        raise ConvzooError(f"{path}: not a readable PNG or JPEG image ({type(exc).__name__})") from None


def to_uint8_input(img, channels: int, size: tuple[int, int], dark_background: bool) -> np.ndarray:
    """(C, H, W) uint8 at the model's size; light-background pictures are inverted for datasets
    drawn light-on-dark (MNIST, Fashion-MNIST)."""
    from PIL import Image, ImageOps

    img = ImageOps.exif_transpose(img).convert("L" if channels == 1 else "RGB")
    if dark_background and channels == 1 and np.asarray(img).mean() > 127:
        img = ImageOps.invert(img)
    img = img.resize((size[1], size[0]), Image.Resampling.LANCZOS)
    arr = np.asarray(img, dtype=np.uint8)
    return arr[None] if channels == 1 else arr.transpose(2, 0, 1)


class Predictor:
    """A checkpoint ready to classify images (the CLI's `predict` and the demo both use it)."""

    def __init__(self, checkpoint: str | Path):
        self.model, payload = model_from_checkpoint(checkpoint)
        self.data = payload["data"]
        self.classes = list(self.data["classes"])
        self.channels, height, width = self.data["shape"]
        self.size = (height, width)
        self.normalize = Normalizer(self.data["mean"], self.data["std"])
        self.dark_background = self.data["name"] in ("mnist", "fashion-mnist")

    def preprocess(self, img) -> np.ndarray:
        return to_uint8_input(img, self.channels, self.size, self.dark_background)

    @torch.inference_mode()
    def probabilities(self, batch_uint8: np.ndarray) -> torch.Tensor:
        x = self.normalize(torch.from_numpy(np.ascontiguousarray(batch_uint8)))
        return torch.softmax(self.model(x).float(), dim=1)

    def predict_files(self, paths, top_k: int = 3) -> list[dict]:
        images = np.stack([self.preprocess(read_image(p)) for p in paths])
        probs = self.probabilities(images)
        k = min(top_k, len(self.classes))
        results = []
        for path, p in zip(paths, probs):
            values, index = p.topk(k)
            results.append({"image": str(path), "top": [
                {"class": self.classes[i], "index": int(i), "probability": float(v)}
                for v, i in zip(values.tolist(), index.tolist())]})
        return results
