"""Batches drawn by index from a resident uint8 dataset, augmented as whole batches.

The per-sample DataLoader costs more than LeNet's forward and backward on these CPUs (DESIGN.md),
so a batch here is one indexing operation, one vectorised augmentation and one fused normalise.
All randomness comes from one `torch.Generator` the caller owns, so a checkpoint can save it and
a resumed run draws exactly the batches the uninterrupted run would have.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import torch

from .datasets import ArrayDataset
from .distort import draw_planar, planar_batch
from .elastic import draw_affine, draw_fields, warp_batch

# Random erasing's ranges (Zhong et al. 2017, "Random Erasing Data Augmentation", whose tests include
# Fashion-MNIST): a rectangle of 2-40 % of the image, aspect ratio 0.3-3.3, filled with noise.
ERASE_AREA = (0.02, 0.4)
ERASE_ASPECT = (0.3, 1 / 0.3)
SYNTAX = ("none, flip, crop, crop4, erase, erase25, scale, scale100, elastic, affine, planar, crop+flip+erase, "
          "affine+elastic, auto")


@dataclass(frozen=True)
class Augment:
    translate: int = 0  # random shift of up to ± this many pixels (zero padding, then crop)
    flip: bool = False  # random horizontal flip (only for datasets where it keeps the label)
    erase: float = 0.0  # probability that an image gets a random rectangle of noise (random erasing)
    scale: float = 0.0  # scale jittering: zoom each image in by a random factor in [1, 1 + scale], random centre
    elastic: bool = False  # Simard et al.'s elastic distortion (data/elastic.py)
    affine: bool = False  # Ciresan et al.'s random rotation and scaling (data/elastic.py)
    planar: bool = False  # LeNet-5's random planar affine distortions (data/distort.py)

    @classmethod
    def parse(cls, text: str, flippable: bool = True) -> Augment:
        """'none', 'flip', 'crop' (translate 2), 'crop4', 'erase' (half the images), 'erase25' (a
        quarter), 'scale' (zoom 1-1.5x), 'scale100' (1-2x), 'elastic', 'affine', 'planar', 'crop+flip+erase',
        'affine+elastic', 'auto'."""
        text = text.lower()
        if text in ("none", "", "off"):
            return cls()
        flip, translate, erase, scale, elastic, affine, planar = False, 0, 0.0, 0.0, False, False, False
        for part in text.split("+"):
            if part == "auto":
                translate, flip = 2, flippable
            elif part == "flip":
                flip = True
            elif part == "elastic":
                elastic = True
            elif part == "affine":
                affine = True
            elif part == "planar":
                planar = True
            elif match := re.fullmatch(r"(?:crop|translate)(\d*)", part):
                translate = int(match.group(1) or 2)
            elif match := re.fullmatch(r"erase(\d*)", part):
                erase = int(match.group(1) or 50) / 100
                if not 0 < erase <= 1:
                    raise ValueError(f"augmentation {part!r}: the percentage of images erased must be 1-100")
            elif match := re.fullmatch(r"scale(\d*)", part):
                scale = int(match.group(1) or 50) / 100
                if not 0 < scale <= 3:
                    raise ValueError(f"augmentation {part!r}: the largest zoom must be 1-300 % over 1x")
            else:
                raise ValueError(f"unknown augmentation {part!r} (use {SYNTAX})")
        return cls(translate=translate, flip=flip, erase=erase, scale=scale, elastic=elastic, affine=affine,
                   planar=planar)

    def geometric(self) -> Augment:
        """What moves a segmentation mask with its image: the shifts and flips, not the noise."""
        return Augment(translate=self.translate, flip=self.flip, scale=self.scale)

    def __bool__(self) -> bool:
        return bool(self.translate or self.flip or self.erase or self.scale or self.elastic or self.affine
                    or self.planar)


@dataclass(frozen=True)
class AugmentDraw:
    """The random choices of one augmented batch: per-image shifts, flips and erased rectangles."""

    offsets: torch.Tensor | None  # (2, N) int64 in [0, 2 * max_shift]: the window's top-left corner
    flips: torch.Tensor | None  # (N,) bool
    boxes: torch.Tensor | None = None  # (4, N) int64 top, left, height, width; height 0: not erased
    noise: torch.Tensor | None = None  # (N, C, H, W) uint8: what fills an erased rectangle
    zooms: torch.Tensor | None = None  # (3, N) float: zoom factor, then the window centre (x, y) in [-1, 1]
    fields: torch.Tensor | None = None  # (N, 2, H, W) raw elastic displacements, before smoothing
    affine: torch.Tensor | None = None  # (3, N) rotation, vertical and horizontal scale
    planar: torch.Tensor | None = None  # (N, 2, 3) affine sampling matrices (data/distort.py)

    @classmethod
    def draw(cls, augment: Augment, n: int, generator: torch.Generator,
             image_shape: tuple[int, int, int] | None = None) -> AugmentDraw:
        """`image_shape` (C, H, W) is needed to erase or distort: the draws are made to fit it."""
        # Drawn on the CPU from the caller's CPU generator whatever device trains, so a run draws the
        # same batches on any device; the draws are a few bytes per image (erasing's noise, a byte a pixel).
        offsets = (torch.randint(0, 2 * augment.translate + 1, (2, n), generator=generator)
                   if augment.translate else None)
        flips = torch.rand(n, generator=generator) < 0.5 if augment.flip else None
        boxes = noise = None
        if augment.erase:
            if image_shape is None:
                raise ValueError("erasing needs the images' shape")
            boxes = _erase_boxes(augment.erase, n, image_shape[1:], generator)
            noise = torch.randint(0, 256, (n, *image_shape), generator=generator, dtype=torch.uint8)
        zooms = None
        if augment.scale:  # the window of side 1/zoom placed anywhere inside the image
            zoom = 1 + torch.rand(n, generator=generator) * augment.scale
            centre = (torch.rand(2, n, generator=generator) * 2 - 1) * (1 - 1 / zoom)
            zooms = torch.cat([zoom[None], centre])
        if (augment.elastic or augment.planar) and image_shape is None:
            raise ValueError("elastic and planar distortion need the images' shape")
        fields = draw_fields(n, image_shape[1:], generator) if augment.elastic else None
        affine = draw_affine(n, generator) if augment.affine else None
        planar = draw_planar(n, image_shape[1:], generator) if augment.planar else None
        return cls(offsets, flips, boxes, noise, zooms, fields, affine, planar)

    def rows(self, index) -> AugmentDraw:
        """The draws for some rows of the batch (one process's share of a global batch)."""
        return AugmentDraw(None if self.offsets is None else self.offsets[:, index],
                           None if self.flips is None else self.flips[index],
                           None if self.boxes is None else self.boxes[:, index],
                           None if self.noise is None else self.noise[index],
                           None if self.zooms is None else self.zooms[:, index],
                           None if self.fields is None else self.fields[index],
                           None if self.affine is None else self.affine[:, index],
                           None if self.planar is None else self.planar[index])


def _erase_boxes(probability: float, n: int, size: tuple[int, int], generator: torch.Generator) -> torch.Tensor:
    """(4, N) top, left, height, width of each image's rectangle; height and width 0 where the image
    is not erased. Area and log-aspect are drawn uniformly in the paper's ranges and the rectangle is
    clipped to the image, which keeps every draw (the paper redraws until one fits)."""
    h, w = size
    erased = torch.rand(n, generator=generator) < probability
    area = torch.empty(n).uniform_(*ERASE_AREA, generator=generator) * (h * w)
    aspect = torch.empty(n).uniform_(*[math.log(r) for r in ERASE_ASPECT], generator=generator).exp()
    heights = (area * aspect).sqrt().round().long().clamp(1, h) * erased
    widths = (area / aspect).sqrt().round().long().clamp(1, w) * erased
    tops = (torch.rand(n, generator=generator) * (h - heights + 1)).long()
    lefts = (torch.rand(n, generator=generator) * (w - widths + 1)).long()
    return torch.stack([tops, lefts, heights, widths])


def translate_batch(images: torch.Tensor, max_shift: int, offsets: torch.Tensor) -> torch.Tensor:
    """Shift each image (N, C, H, W) or mask (N, H, W) by its own (dy, dx) = offsets - max_shift,
    filling with zeros (black, or background in a mask)."""
    squeeze = images.ndim == 3
    if squeeze:
        images = images[:, None]
    n, _, h, w = images.shape
    p = max_shift
    padded = torch.nn.functional.pad(images, (p, p, p, p))  # (N, C, H+2p, W+2p)
    offsets = offsets.to(images.device)
    # Every (H, W) window of the padded image as a view, then one gather of each image's window:
    # five times faster than indexing rows and columns separately.
    windows = padded.unfold(2, h, 1).unfold(3, w, 1)  # (N, C, 2p+1, 2p+1, H, W)
    out = windows[torch.arange(n, device=images.device), :, offsets[0], offsets[1]]  # (N, C, H, W)
    return out[:, 0] if squeeze else out


def zoom_batch(images: torch.Tensor, zooms: torch.Tensor) -> torch.Tensor:
    """Zoom each uint8 image (N, C, H, W) or mask (N, H, W) into its window (zooms (3, N): factor,
    centre x, centre y), resampled back to H x W: bilinear for images, nearest for masks (a label
    is never blended). VGG's scale jittering, at the size of the input."""
    squeeze = images.ndim == 3
    x = (images[:, None] if squeeze else images).float()
    zoom, cx, cy = zooms.to(x.device)
    theta = torch.zeros(len(x), 2, 3, device=x.device)
    theta[:, 0, 0] = theta[:, 1, 1] = 1 / zoom
    theta[:, 0, 2], theta[:, 1, 2] = cx, cy
    grid = torch.nn.functional.affine_grid(theta, list(x.shape), align_corners=False)
    out = torch.nn.functional.grid_sample(x, grid, mode="nearest" if squeeze else "bilinear",
                                          padding_mode="border", align_corners=False)
    out = out.round().clamp(0, 255).to(images.dtype)
    return out[:, 0] if squeeze else out


def flip_batch(images: torch.Tensor, flips: torch.Tensor) -> torch.Tensor:
    mask = flips.to(images.device).view(-1, *[1] * (images.ndim - 1))
    return torch.where(mask, images.flip(-1), images)


def erase_batch(images: torch.Tensor, boxes: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """Fill each image's rectangle (N, C, H, W; boxes (4, N)) with its noise, all channels alike."""
    h, w = images.shape[-2:]
    top, left, height, width = boxes.to(images.device).view(4, -1, 1, 1, 1)
    rows = torch.arange(h, device=images.device).view(1, 1, h, 1)
    cols = torch.arange(w, device=images.device).view(1, 1, 1, w)
    inside = (rows >= top) & (rows < top + height) & (cols >= left) & (cols < left + width)  # (N, 1, H, W)
    return torch.where(inside, noise.to(images.device), images)


def augment_batch(images: torch.Tensor, augment: Augment, draw: AugmentDraw) -> torch.Tensor:
    if augment.scale:
        images = zoom_batch(images, draw.zooms)
    if augment.planar:
        images = planar_batch(images, draw.planar)
    if augment.translate:
        images = translate_batch(images, augment.translate, draw.offsets)
    if augment.flip:
        images = flip_batch(images, draw.flips)
    if augment.elastic or augment.affine:
        images = warp_batch(images, draw.fields, draw.affine)
    if augment.erase:  # last, as in the paper: the rectangle is placed on the shifted, mirrored image
        images = erase_batch(images, draw.boxes, draw.noise)
    return images


class Normalizer:
    """uint8 (N, C, H, W) -> float, (x/255 - mean)/std as one multiply-add per element."""

    def __init__(self, mean, std, device="cpu", channels_last: bool = False):
        std = torch.tensor(std, dtype=torch.float32, device=device)[None, :, None, None]
        mean = torch.tensor(mean, dtype=torch.float32, device=device)[None, :, None, None]
        self.scale, self.shift = 1 / (255 * std), -mean / std
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        x = torch.addcmul(self.shift, images.to(torch.float32), self.scale)
        return x.contiguous(memory_format=self.memory_format)


class BatchLoader:
    """Iterate (inputs, labels) batches over an in-memory dataset.

    Labels are class indices (N,) or, for segmentation, masks (N, H, W) that are augmented with
    their images. With `world_size` > 1 (DDP), a shuffled loader gives each process its share
    `rank::world_size` of every global batch of `batch_size`, so N processes step through exactly
    the batches one process would, and the augmentation is drawn for the whole global batch; an
    unshuffled (evaluation) loader gives each process one contiguous part of the data, so the
    parts cover it exactly once, with no padding.
    """

    def __init__(self, data: ArrayDataset, batch_size: int, *, shuffle: bool = False,
                 augment: Augment = Augment(), drop_last: bool = False, device="cpu",
                 channels_last: bool = False, generator: torch.Generator | None = None,
                 rank: int = 0, world_size: int = 1):
        self.images = data.images.to(device)
        self.labels = data.labels.to(device)
        self.batch_size, self.shuffle, self.augment, self.drop_last = batch_size, shuffle, augment, drop_last
        self.normalize = Normalizer(data.mean, data.std, device, channels_last)
        self.generator = generator if generator is not None else torch.Generator().manual_seed(0)
        self.rank, self.world_size = rank, world_size

    def _indices(self) -> torch.Tensor:
        n = len(self.labels)
        if self.shuffle:
            return torch.randperm(n, generator=self.generator)
        return torch.arange(self.rank * n // self.world_size, (self.rank + 1) * n // self.world_size)

    def __len__(self) -> int:
        n = len(self.labels) if self.shuffle else len(self._indices())
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self):
        for x, y, _ in self.batches():
            yield x, y

    def batches(self):
        """(inputs, labels, examples in the global batch) for this process's share of each batch."""
        index = self._indices()
        share = slice(self.rank, None, self.world_size) if self.shuffle else slice(None)
        for start in range(0, len(index), self.batch_size):
            batch = index[start:start + self.batch_size]
            if self.drop_last and len(batch) < self.batch_size:
                break
            draw = (AugmentDraw.draw(self.augment, len(batch), self.generator, tuple(self.images.shape[1:]))
                    if self.augment else None)
            mine = batch[share].to(self.images.device)
            images, labels = self.images[mine], self.labels[mine]
            if draw is not None:
                draw = draw.rows(share)
                images = augment_batch(images, self.augment, draw)
                if labels.ndim == 3:  # a segmentation mask moves with its image
                    labels = augment_batch(labels, self.augment.geometric(), draw)
            yield self.normalize(images), labels.long(), len(batch)
