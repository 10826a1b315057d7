"""Neural style transfer (Gatys, Ecker and Bethge, CVPR 2016): an image optimised so that its deeper
features match a content picture and the Gram matrices of its features match a style picture.

The optimised variable is the image itself, started from the content picture with noise added (far
fewer steps than from pure noise, as the paper starts). Content loss: the mean squared difference
of the content layers' features. Style loss: the mean squared difference of each style layer's
Gram matrix, F F^T divided by the feature map's number of elements (C x H x W), so that layers and
picture sizes weigh alike.
The feature networks, and why the default is random-weight features, are in style_features.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import ConvzooError
from .style_features import FeatureNet, feature_net

DEFAULT_SIZE = 256  # pixels on the result's longer side
DEFAULT_STEPS = 100  # loss evaluations (L-BFGS) or updates (Adam)
DEFAULT_STYLE_WEIGHT = 5e7
DEFAULT_CONTENT_WEIGHT = 1.0
# Uniform noise of this width added to the starting image. On a smooth area zero-mean filters barely
# respond, so the style's gradient there is near zero and texture would grow only where the content
# already has edges; noise seeds it everywhere (Gatys et al. start from pure noise).
DEFAULT_NOISE = 0.5
ADAM_LR = 0.02  # per step, on pixels in [0, 1]; 0.05 reaches the style sooner and loses more content
LBFGS_CHUNK = 20  # evaluations between clampings of the image to [0, 1]
# Bundled with scikit-image (nothing to download): natural pictures and textures.
SKIMAGE_NAMES = ("astronaut", "brick", "camera", "cat", "chelsea", "clock", "coffee", "coins", "colorwheel",
                 "grass", "gravel", "hubble_deep_field", "immunohistochemistry", "logo", "moon", "page",
                 "retina", "rocket", "text")

Progress = Callable[[int, int, dict], None]  # (step, steps, {"content": .., "style": .., "total": ..})


@dataclass
class StyleResult:
    image: np.ndarray  # the result, uint8 (H, W, 3)
    content: np.ndarray  # the content picture at the result's size, uint8 (H, W, 3)
    style: np.ndarray  # the style picture as the features saw it, uint8
    history: list[dict] = field(default_factory=list)  # per step: content and style loss (unweighted), total
    final: dict = field(default_factory=dict)  # the same, of the returned image
    seconds: float = 0.0
    features: str = ""
    content_layers: tuple[str, ...] = ()
    style_layers: tuple[str, ...] = ()

    @property
    def content_loss(self) -> float:
        return self.final["content"]

    @property
    def style_loss(self) -> float:
        return self.final["style"]

    def to_dict(self) -> dict:
        height, width = self.image.shape[:2]
        return {"size": [width, height], "steps": len(self.history), "seconds": round(self.seconds, 2),
                "features": self.features, "content_layers": list(self.content_layers),
                "style_layers": list(self.style_layers), "start": self.history[0], "final": self.final}


def load_picture(source) -> np.ndarray:
    """uint8 (H, W, 3) from an image file (PNG or JPEG, within the pixel limit), `skimage:NAME`,
    a Pillow image or an array."""
    from PIL import Image

    if isinstance(source, np.ndarray):
        return _as_rgb(source)
    if isinstance(source, Image.Image):
        return _as_rgb(np.asarray(source.convert("RGB")))
    text = str(source)
    if text.startswith("skimage:"):
        return _skimage_picture(text.partition(":")[2])
    from PIL import ImageOps

    from ..infer import read_image

    return np.asarray(ImageOps.exif_transpose(read_image(text)).convert("RGB"))


def _skimage_picture(name: str) -> np.ndarray:
    if name not in SKIMAGE_NAMES:
        raise ConvzooError(f"unknown scikit-image picture {name!r}; known: {', '.join(SKIMAGE_NAMES)}")
    import skimage.data

    return _as_rgb(getattr(skimage.data, name)())


def _as_rgb(array: np.ndarray) -> np.ndarray:
    if array.dtype == bool:
        array = array.astype(np.uint8) * 255
    if array.dtype != np.uint8:
        raise ConvzooError(f"a picture array must be uint8 or bool, not {array.dtype}")
    if array.ndim == 2:
        array = np.repeat(array[..., None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] not in (3, 4):
        raise ConvzooError(f"a picture is (H, W), (H, W, 3) or (H, W, 4), not {array.shape}")
    if array.shape[2] == 4:  # over white, where it is transparent
        alpha = array[..., 3:].astype(np.float32) / 255
        array = (array[..., :3] * alpha + 255 * (1 - alpha)).round().astype(np.uint8)
    return np.ascontiguousarray(array)


def resize(picture: np.ndarray, size: int) -> np.ndarray:
    """The picture with its longer side `size` pixels (aspect kept)."""
    from PIL import Image

    height, width = picture.shape[:2]
    scale = size / max(height, width)
    shape = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(picture).resize(shape, Image.Resampling.LANCZOS))


def gram(features: torch.Tensor) -> torch.Tensor:
    """(1, C, H, W) -> (C, C): F F^T over positions, divided by C*H*W."""
    _, channels, height, width = features.shape
    flat = features.reshape(channels, height * width)
    return flat @ flat.T / (channels * height * width)


def _to_tensor(picture: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(picture.transpose(2, 0, 1).copy())[None].float() / 255


def _to_uint8(image: torch.Tensor) -> np.ndarray:
    return (image[0].clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()


def stylize(content, style, *, size: int = DEFAULT_SIZE, steps: int = DEFAULT_STEPS,
            style_weight: float = DEFAULT_STYLE_WEIGHT, content_weight: float = DEFAULT_CONTENT_WEIGHT,
            content_layers=None, style_layers=None, features: str | FeatureNet = "random",
            optimizer: str = "lbfgs", seed: int = 0, noise: float = DEFAULT_NOISE,
            progress: Progress | None = None) -> StyleResult:
    """Paint `content` (a path, `skimage:NAME`, a Pillow image or a uint8 array) in the texture of
    `style`. Layers default to the feature network's; see `feature_net` for `features`."""
    if optimizer not in ("lbfgs", "adam"):
        raise ConvzooError(f"optimizer must be lbfgs or adam, not {optimizer!r}")
    if steps < 1 or size < 1:
        raise ConvzooError(f"steps and size must be positive, not {steps} and {size}")
    net = feature_net(features) if isinstance(features, str) else features
    content_layers = net.check_layers(content_layers or net.content_layers, "content")
    style_layers = net.check_layers(style_layers or net.style_layers, "style")
    content_picture = resize(load_picture(content), size)
    style_picture = resize(load_picture(style), size)

    start = time.perf_counter()
    torch.manual_seed(seed)  # Adam's path and any noise are seeded; the features have their own seed
    with torch.no_grad():
        target_features = net(_to_tensor(content_picture), set(content_layers))
        style_features = net(_to_tensor(style_picture), set(style_layers))
        target_grams = {name: gram(f) for name, f in style_features.items()}
    image = _to_tensor(content_picture)
    image = (image + noise * (torch.rand_like(image) - 0.5)).clamp(0, 1).requires_grad_(True)
    history: list[dict] = []

    def losses(x: torch.Tensor) -> dict:
        found = net(x, set(content_layers) | set(style_layers))
        content_loss = sum(F.mse_loss(found[n], target_features[n]) for n in content_layers)
        content_loss = content_loss / len(content_layers)
        style_loss = sum(F.mse_loss(gram(found[n]), target_grams[n]) for n in style_layers)
        return {"content": content_loss, "style": style_loss,
                "total": content_weight * content_loss + style_weight * style_loss}

    def loss() -> torch.Tensor:
        found = losses(image)
        history.append({"step": len(history) + 1, **{k: v.item() for k, v in found.items()}})
        if progress is not None:
            progress(len(history), steps, history[-1])
        return found["total"]

    _optimise(image, loss, steps, optimizer, history)
    with torch.no_grad():  # the last update was never evaluated: measure what is returned
        final = {k: float(v) for k, v in losses(image).items()}
    return StyleResult(_to_uint8(image.detach()), content_picture, style_picture, history, final,
                       time.perf_counter() - start, net.description, content_layers, style_layers)


def _optimise(image: torch.Tensor, loss, steps: int, optimizer: str, history: list) -> None:
    if optimizer == "adam":
        adam = torch.optim.Adam([image], lr=ADAM_LR)
        for _ in range(steps):
            adam.zero_grad()
            loss().backward()
            adam.step()
            with torch.no_grad():
                image.clamp_(0, 1)
        return
    # No line search (as in Johnson's neural-style): one evaluation per iteration, so `steps` is
    # the work done; the curvature estimate survives the clamping between chunks.
    lbfgs = torch.optim.LBFGS([image], lr=1, max_iter=LBFGS_CHUNK, history_size=50,
                              tolerance_grad=0, tolerance_change=0)

    def closure():
        lbfgs.zero_grad()
        total = loss()
        total.backward()
        return total

    while len(history) < steps:
        lbfgs.param_groups[0]["max_iter"] = min(LBFGS_CHUNK, steps - len(history))
        lbfgs.param_groups[0]["max_eval"] = steps - len(history)
        before = len(history)
        lbfgs.step(closure)
        with torch.no_grad():
            image.clamp_(0, 1)
        if len(history) == before:  # converged: nothing left to improve
            break


def check_output(path: str | Path) -> Path:
    """Fail now, before minutes of work, if a PNG cannot be written at `path`."""
    from ..atomic import new_temporary

    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ConvzooError(f"the output is a PNG: give a name ending in .png, not {path.name!r}")
    new_temporary(path).unlink()
    return path


def save_png(picture: np.ndarray, path: str | Path) -> Path:
    from PIL import Image

    from ..atomic import atomic_path

    with atomic_path(path) as tmp:
        Image.fromarray(picture).save(tmp, format="PNG")
    return Path(path)


def write_result(result: StyleResult, output: str | Path, strip: str | Path | None = None) -> list[Path]:
    """The result as a PNG at `output` and, if asked, content | style | result at `strip`."""
    written = [save_png(result.image, output)]
    if strip is not None:
        written.append(save_png(side_by_side(result), strip))
    return written


def side_by_side(result: StyleResult, gap: int = 4) -> np.ndarray:
    """content | style | result on a white strip, the style scaled to the result's height."""
    from PIL import Image

    height = result.image.shape[0]
    style = Image.fromarray(result.style)
    style = np.asarray(style.resize((max(1, round(style.width * height / style.height)), height),
                                    Image.Resampling.LANCZOS))
    parts = [result.content, style, result.image]
    strip = np.full((height, sum(p.shape[1] for p in parts) + gap * 2, 3), 255, np.uint8)
    left = 0
    for part in parts:
        strip[:, left:left + part.shape[1]] = part
        left += part.shape[1] + gap
    return strip
