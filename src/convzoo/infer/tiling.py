"""Dense prediction of images of any size, tile by tile: U-Net's overlap-tile strategy (`convzoo
segment`, and `predict` for a valid network).

A fully convolutional network maps an input of side s to an output of side s - 2 * border:
`border` > 0 for valid convolutions (the paper's U-Net: 92, so 572 -> 388), 0 for padded ones. Its
pooling grid (`grid`, 2^4 = 16 for U-Net) makes two things hold only for some inputs and tiles:
- a valid network pools an even size at every level only for sides min_input + k * grid (188,
  204, 220, ... for U-Net); any other side drops rows, so its output is shorter and misaligned;
- the output depends on where a pixel falls in the pooling grid, so a tile matches one big pass
  only if it starts on a multiple of the grid. The paper's tiles step by their output, 388 = 24 *
  16 + 4; here they step by 384 and overlap by 4 output pixels, which makes the tiled map equal
  to one pass over the whole mirror-padded image.

Each tile sees `context` pixels of surroundings on every side: the border the network eats
(valid), or a margin whose predictions are dropped because padded convolutions see zeros there
(padded). The image is mirror-padded by that context, so every image pixel gets a full context.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from ..errors import ConvzooError

MARGIN = 96  # U-Net's receptive field reaches 92 pixels from its centre (184 / 2), rounded up to the grid
WHOLE_PIXELS = 512 * 512  # a padded network predicts an image this large in one pass
PADDED_TILE = 512  # tile side for a padded network when the image is larger than WHOLE_PIXELS
VALID_TILE = 572  # the paper's tile
PROBE = 512  # side of the shape probes


@dataclass(frozen=True)
class Geometry:
    border: int  # input pixels lost on each side (0: the output keeps the input's size)
    grid: int  # the network's total pooling stride
    min_input: int  # smallest side it takes (valid: the first of min_input + k * grid)

    @property
    def valid(self) -> bool:
        return self.border > 0

    def smallest_tile(self, context: int) -> int:
        """The smallest tile side whose prediction keeps a multiple of the grid (padded) or whose
        pooling is exact (valid)."""
        if self.valid:
            return self.min_input
        return 2 * context + self.grid * max(1, math.ceil((self.min_input - 2 * context) / self.grid))


def input_channels(model: nn.Module) -> int:
    first = next((m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))), None)
    if first is None:
        raise ConvzooError(f"{type(model).__name__} has no convolution: it cannot label pixels")
    return first.in_channels


def _probe(model: nn.Module, channels: int, side: int, sides: list[int] | None = None) -> int | None:
    """The output side for a side x side input, None if the network cannot take it. The batch is
    empty, so shapes flow through every layer and no arithmetic is done (the meta device would do
    the same, after seconds of start-up). `sides` collects every module's output side."""
    param = next(model.parameters(), torch.empty(0))  # the device and dtype the model computes in
    hooks = [] if sides is None else [
        m.register_forward_hook(lambda _m, _i, out: sides.append(out.shape[-1]) if _is_map(out) else None)
        for m in model.modules()]
    try:
        with torch.inference_mode():
            out = model(torch.empty(0, channels, side, side, device=param.device, dtype=param.dtype))
    except (RuntimeError, ValueError, IndexError):
        return None
    finally:
        for h in hooks:
            h.remove()
    return out.shape[-1] if _is_map(out) and out.shape[-1] > 0 else None


def _is_map(x) -> bool:
    return isinstance(x, torch.Tensor) and x.dim() == 4


def probe_geometry(model: nn.Module, channels: int | None = None) -> Geometry:
    """The border, grid and smallest input of a fully convolutional network, from a dozen shape
    probes: out(s) is a staircase that rises by `grid` exactly at the valid sides. The model is put
    in eval mode (batch norm cannot train on the probes' empty batches)."""
    channels = channels or input_channels(model)
    model.eval()
    sides: list[int] = []
    out = _probe(model, channels, PROBE, sides)
    if out is None or out > PROBE:
        raise ConvzooError(f"{type(model).__name__} does not map a {PROBE}x{PROBE} image to a map "
                           "of at most its size: it is not a segmentation network")
    if out == PROBE:  # padded: any side works; the grid is the deepest map's stride
        grid = PROBE // min(sides)
        smallest = next(s for s in range(1, PROBE + 1) if _probe(model, channels, s) == s)
        return Geometry(0, grid, smallest)
    lo, hi = 1, PROBE  # the first side whose output is `out`: the valid side below PROBE
    while lo < hi:
        mid = (lo + hi) // 2
        if (_probe(model, channels, mid) or 0) >= out:
            hi = mid
        else:
            lo = mid + 1
    border2, grid = lo - out, out - (_probe(model, channels, lo - 1) or 0)
    if border2 % 2 or grid <= 0:
        raise ConvzooError(f"{type(model).__name__} loses {border2} pixels, not the same on both sides")
    smallest = lo - (out - 1) // grid * grid
    return Geometry(border2 // 2, grid, smallest)


@dataclass(frozen=True)
class AxisPlan:
    length: int  # image pixels
    tile: int  # input pixels per tile
    step: int  # between tile starts: a multiple of the grid
    count: int
    context: int  # mirror padding before the image; each tile keeps its prediction inside this rim

    @property
    def kept(self) -> int:
        return self.tile - 2 * self.context

    @property
    def padded(self) -> int:
        return (self.count - 1) * self.step + self.tile


@dataclass(frozen=True)
class TilePlan:
    rows: AxisPlan
    cols: AxisPlan
    whole: bool  # one pass over the image itself (a padded network, small image, no --tile)

    @property
    def tiles(self) -> int:
        return self.rows.count * self.cols.count

    def describe(self) -> dict:
        return {"mode": "whole image" if self.whole else "overlap-tile", "tiles": self.tiles,
                "tile_rows": self.rows.count, "tile_columns": self.cols.count, "tile_height": self.rows.tile,
                "tile_width": self.cols.tile, "context": self.rows.context}


def _plan_axis(length: int, geometry: Geometry, context: int, tile: int) -> AxisPlan:
    first = geometry.smallest_tile(context)
    tile = first + max(0, tile - first) // geometry.grid * geometry.grid  # the largest allowed side <= tile
    kept = tile - 2 * context
    step = kept - kept % geometry.grid
    if length <= kept:  # one tile: the smallest allowed that covers the image
        side = first + math.ceil(max(0, length - (first - 2 * context)) / geometry.grid) * geometry.grid
        return AxisPlan(length, side, side - 2 * context, 1, context)
    if step == 0:
        raise ConvzooError(f"tile {tile} keeps {kept} pixels, fewer than the network's pooling grid "
                           f"({geometry.grid}): use a tile of at least {first + geometry.grid}")
    return AxisPlan(length, tile, step, math.ceil((length - kept) / step) + 1, context)


def plan_tiles(geometry: Geometry, height: int, width: int, tile: int | None = None, *,
               margin: int = MARGIN, whole_pixels: int = WHOLE_PIXELS) -> TilePlan:
    """Tiles for a height x width image. `tile` is the input side per tile (rounded down to a side
    the network takes); by default the paper's 572 for a valid network, while a padded one
    predicts the whole image at once if it has at most `whole_pixels` pixels, else 512-pixel tiles."""
    if tile is not None and tile < 1:
        raise ConvzooError(f"tile must be positive, not {tile}")
    if not geometry.valid and tile is None:
        rows, cols = (_plan_axis(n, geometry, 0, n + geometry.grid) for n in (height, width))
        if rows.tile * cols.tile <= whole_pixels:
            return TilePlan(rows, cols, whole=True)
    # A padded network's first tile starts at -margin: on the pooling grid, so that its centres match
    # a pass over the image itself. A valid network's tiles only need to be on the padded image's grid.
    context = geometry.border if geometry.valid else math.ceil(margin / geometry.grid) * geometry.grid
    if tile is not None and tile < geometry.smallest_tile(context):
        raise ConvzooError(f"tile {tile} is smaller than the smallest this network takes with its "
                           f"{context}-pixel context ({geometry.smallest_tile(context)})")
    tile = tile or (VALID_TILE if geometry.valid else PADDED_TILE)
    return TilePlan(_plan_axis(height, geometry, context, tile), _plan_axis(width, geometry, context, tile),
                    whole=False)


def mirror_indices(length: int, before: int, after: int) -> torch.Tensor:
    """Indices that mirror-pad (reflect, edge not repeated) an axis by any amount, even more than
    its length (the mirror image is mirrored again)."""
    i = torch.arange(-before, length + after)
    if length == 1:
        return torch.zeros_like(i)
    period = 2 * (length - 1)
    i = i % period
    return torch.where(i < length, i, period - i)


def mirror_pad(x: torch.Tensor, rows: AxisPlan, cols: AxisPlan) -> torch.Tensor:
    """(N, C, H, W) -> (N, C, rows.padded, cols.padded): the image at (context, context)."""
    down = mirror_indices(rows.length, rows.context, rows.padded - rows.context - rows.length)
    across = mirror_indices(cols.length, cols.context, cols.padded - cols.context - cols.length)
    return x.index_select(2, down.to(x.device)).index_select(3, across.to(x.device))


@torch.inference_mode()
def tiled_logits(model: nn.Module, x: torch.Tensor, plan: TilePlan, geometry: Geometry) -> torch.Tensor:
    """(1, C, H, W) normalised image -> (classes, H, W) float32 logits, one tile at a time."""
    padded = mirror_pad(x, plan.rows, plan.cols)  # (1, C, rows.padded, cols.padded)
    out = None
    cut_r, cut_c = plan.rows.context - geometry.border, plan.cols.context - geometry.border
    for top in range(0, plan.rows.count * plan.rows.step, plan.rows.step):
        for left in range(0, plan.cols.count * plan.cols.step, plan.cols.step):
            tile = padded[..., top:top + plan.rows.tile, left:left + plan.cols.tile]
            logits = model(tile)[0].float()  # (classes, tile - 2 border, tile - 2 border)
            if out is None:
                out = torch.empty(logits.shape[0], plan.rows.length, plan.cols.length)
            # dropping the rim of `context - border` pixels leaves what the tile keeps: image pixels from (top, left)
            kept = logits[:, cut_r:logits.shape[1] - cut_r, cut_c:logits.shape[2] - cut_c]
            h, w = min(kept.shape[1], plan.rows.length - top), min(kept.shape[2], plan.cols.length - left)
            out[:, top:top + h, left:left + w] = kept[:, :h, :w].cpu()
    return out
