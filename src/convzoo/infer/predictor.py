"""Use a trained checkpoint on images: read, preprocess as the model's data was made, classify.

The CLI's `predict`, the demo's API and the benchmarks all go through `Predictor`. MNIST and
Fashion-MNIST models get the dataset's own preprocessing (`convzoo.data.preprocess`); other
datasets are resized to the model's input. A model trained on a speech dataset (the catalog's
`modality` "audio": spoken-digits) reads WAV files instead, as log-mel images (`infer.audio`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..data import DATASETS, Normalizer
from ..data.preprocess import Prepared, style_for
from ..errors import ConvzooError
from ..train.checkpoint import model_from_checkpoint, resolve_checkpoint
from .audio import prepare_wav_files
from .files import card_of, file_error, prepare_files
from .images import read_image, to_uint8_input
from .masks import write_mask
from .segmentation import class_pixels, padded_logits, prepare_image
from .tiling import plan_tiles, probe_geometry, tiled_logits

ACTIVATIONS = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.GELU, nn.SiLU, nn.Sigmoid, nn.Tanh, nn.Hardswish)


def conv_map_modules(model: nn.Module, max_layers: int = 4) -> list[tuple[str, nn.Module]]:
    """For each of the first convolutions, (its name, the module whose output shows its maps):
    the activation that follows it when there is one before the next convolution, else itself."""
    modules = list(model.named_modules())
    chosen = []
    for i, (name, module) in enumerate(modules):
        if not isinstance(module, nn.Conv2d):
            continue
        target = module
        for _, later in modules[i + 1:]:
            if isinstance(later, nn.Conv2d):
                break
            if isinstance(later, ACTIVATIONS):
                target = later
                break
        chosen.append((name, target))
        if len(chosen) == max_layers:
            break
    return chosen


@dataclass
class Analysis:
    prepared: Prepared  # what the network saw
    probabilities: list[float]
    feature_maps: list[tuple[str, np.ndarray]]  # per conv layer: (name, (C, H, W) float32)

    @property
    def answer(self) -> int:
        return int(np.argmax(self.probabilities))


class Predictor:
    """A checkpoint ready to classify images (or, for a segmentation model, to label their pixels)."""

    def __init__(self, checkpoint: str | Path, code: str | None = None):
        """`code` (FILE.py or package.module) rebuilds a checkpoint of the user's own model."""
        self.path = resolve_checkpoint(checkpoint)
        model, payload = model_from_checkpoint(self.path, code=code)
        self._use(model, payload, card_of(self.path, code))

    @classmethod
    def from_model(cls, model: nn.Module, data: dict, task: str = "classification") -> Predictor:
        """A module in memory (in eval mode: pass a copy of one that trains) with `data` as a
        checkpoint describes it (`DataBundle.describe()`: name, classes, shape, mean, std)."""
        predictor = cls.__new__(cls)
        predictor.path = None
        predictor._use(model, {"data": data, "task": task}, None)
        return predictor

    def _use(self, model: nn.Module, payload: dict, card) -> None:
        self.model, self.card = model, card
        self.data = payload["data"]
        self.classes = list(self.data["classes"])
        self.channels, height, width = self.data["shape"]
        self.size = (height, width)
        self.normalize = Normalizer(self.data["mean"], self.data["std"])
        fits_style = self.channels == 1 and self.size == (28, 28)
        self.style = style_for(self.data["name"]) if fits_style else None
        self.map_modules = conv_map_modules(self.model)
        self.task = payload.get("task", "classification")
        # a segmentation network's border and grid (infer.tiling), probed once here rather than on a
        # first image, where the probes' hooks could catch another thread's forward pass
        self.geometry = probe_geometry(self.model, self.channels) if self.task == "segmentation" else None
        spec = DATASETS.get(self.data["name"])
        self.modality = spec.extra.get("modality", "image") if spec else "image"  # "audio": reads WAV files
        self._hooks_lock = threading.Lock()  # the capture hooks are per call: one call at a time

    def prepare(self, img) -> Prepared:
        """What the network sees; `empty` when there is nothing to classify (no ink for a digit or a
        garment; one flat colour for any other model), so no confident answer is given on it."""
        if self.modality == "audio":
            raise ConvzooError(f"{self.data['name']} model: it classifies speech, give it a WAV file")
        if self.style is not None:
            return self.style(img)
        arr = to_uint8_input(img, self.channels, self.size)
        return Prepared(arr[0] if self.channels == 1 else arr, inverted=False, empty=bool(arr.min() == arr.max()))

    def preprocess(self, img) -> np.ndarray:
        """(C, H, W) uint8, as the model's training data looked."""
        image = self.prepare(img).image
        return image[None] if image.ndim == 2 else image

    @torch.inference_mode()
    def probabilities(self, batch_uint8: np.ndarray) -> torch.Tensor:
        x = self.normalize(torch.from_numpy(np.require(batch_uint8, requirements=["C", "W"])))
        return torch.softmax(self.model(x).float(), dim=1)

    @torch.inference_mode()
    def analyse(self, img) -> Analysis:
        """Classify one image and keep the first convolutions' feature maps of that forward pass."""
        prepared = self.prepare(img)
        image = prepared.image[None] if prepared.image.ndim == 2 else prepared.image
        captured: dict[str, torch.Tensor] = {}

        def keeper(name):
            def hook(_module, _inputs, output):
                captured.setdefault(name, output[0].detach().float().clone())  # first call only
            return hook

        with self._hooks_lock:
            handles = [m.register_forward_hook(keeper(name)) for name, m in self.map_modules]
            try:
                probs = self.probabilities(image[None])[0]
            finally:
                for h in handles:
                    h.remove()
        maps = [(name, captured[name].numpy()) for name, _ in self.map_modules if name in captured]
        return Analysis(prepared, probs.tolist(), maps)

    def predict_files(self, paths, top_k: int = 3) -> list[dict]:
        """One result per file, in order: {"image", "top"}, or {"image", "error"} for a file that has
        no answer (unreadable, not an image, or empty: {"empty": true} too). One bad file never costs
        the others their answers. A speech model reads WAV files (the key is "image" all the same)."""
        results, ready = (prepare_wav_files(paths) if self.modality == "audio"
                          else prepare_files(paths, self.prepare))
        ready = [(r, image[None] if image.ndim == 2 else image) for r, image in ready]
        if ready:
            probs = self.probabilities(np.stack([image for _, image in ready]))
            for (result, _), p in zip(ready, probs):
                result["top"] = self.top(p.tolist(), top_k)
        return results

    def top(self, probabilities: list[float], k: int) -> list[dict]:
        order = np.argsort(probabilities)[::-1][:min(k, len(self.classes))]
        return [{"class": self.classes[i], "index": int(i), "probability": float(probabilities[i])}
                for i in order]

    # ---- segmentation (infer.segmentation: the path `convzoo segment` shares) ------------

    @torch.inference_mode()
    def segment(self, img) -> np.ndarray:
        """(H, W) class indices for an image at its own size: a padded network in one padded pass;
        a valid one (it loses a border) tile by tile, as `convzoo segment` labels it by default."""
        x = prepare_image(img, self.channels, self.data["mean"], self.data["std"])  # (1, C, H, W)
        if self.geometry.valid:
            logits = tiled_logits(self.model, x, plan_tiles(self.geometry, *x.shape[-2:]), self.geometry)
        else:
            logits = padded_logits(self.model, x, self.size)
        return logits.argmax(0).numpy().astype(np.uint8)

    def segment_files(self, paths, out_dir: str | Path | None = None) -> list[dict]:
        """Segment each image and write IMAGE.mask.png (in `out_dir`, else beside the image); a file
        that cannot be read or written gets {"image", "error"}, as in `predict_files`."""
        results = []
        for path in paths:
            dest = (Path(out_dir) if out_dir else Path(path).parent) / f"{Path(path).stem}.mask.png"
            try:
                mask = self.segment(read_image(path))
                write_mask(mask, dest, len(self.classes))
            except ConvzooError as exc:
                results.append(file_error(path, exc))
                continue
            results.append({"image": str(path), "mask": str(dest), "size": list(mask.shape),
                            **class_pixels(mask, self.classes)})
        return results
