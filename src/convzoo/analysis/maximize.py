"""Pictures by optimisation: what input makes a neuron fire (activation maximisation), and
DeepDream (amplify what a layer sees in a given image, across octaves).

Both optimise pixels in [0, 1] (the model sees them normalised like its data), by gradient
ascent with the usual regularisers, so the picture shows structure rather than adversarial
noise: random jitter (the picture must work when shifted by a pixel or two), an occasional
small Gaussian blur, and a total-variation penalty. All randomness comes from one seeded
generator: the same command draws the same picture.
"""

from __future__ import annotations

import contextlib
import textwrap
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConvzooError
from .gallery import image_grid
from .visualize import Subject, conv_layers, get_layer


class _Reached(Exception):
    """Raised by a hook once the target layer has run: the rest of the network is not needed."""


def layer_output(model: nn.Module, x: torch.Tensor, layer: nn.Module | None) -> torch.Tensor:
    """`layer`'s output on input `x` (the model's output when `layer` is None), with gradients."""
    if layer is None:
        return model(x)
    captured: list[torch.Tensor] = []

    def hook(module, args, output):
        captured.append(output)
        raise _Reached

    handle = layer.register_forward_hook(hook)
    try:
        model(x)
    except _Reached:
        pass
    except RuntimeError as exc:
        raise ConvzooError(f"a {tuple(x.shape[1:])} input does not reach the layer ({str(exc)[:120]})") from None
    finally:
        handle.remove()
    if not captured:
        raise ConvzooError("the layer never ran in the forward pass")
    return captured[0]


def _blur(pixels: torch.Tensor, sigma: float) -> torch.Tensor:
    """A 3x3 Gaussian blur per channel (reflect padding, so the borders do not darken)."""
    taps = torch.exp(-torch.tensor([1.0, 0.0, 1.0]) / (2 * sigma**2))
    kernel = (taps[:, None] * taps[None, :]) / taps.sum() ** 2
    channels = pixels.shape[1]
    weight = kernel.to(pixels.dtype).expand(channels, 1, 3, 3)
    return F.conv2d(F.pad(pixels, (1, 1, 1, 1), mode="reflect"), weight, groups=channels)


def _total_variation(pixels: torch.Tensor) -> torch.Tensor:
    return (pixels.diff(dim=2).abs().mean() + pixels.diff(dim=3).abs().mean())


@contextlib.contextmanager
def _one_thread():
    """One image's layers are too small to split across threads; on a busy machine a second
    thread mostly spins waiting (measured: 14 s vs 0.4 s for 64 LeNet steps under load)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _jitter(generator: torch.Generator, amount: int) -> tuple[int, int]:
    return tuple(torch.randint(-amount, amount + 1, (2,), generator=generator).tolist()) if amount else (0, 0)


@dataclass
class Picture:
    pixels: np.ndarray  # (C, H, W) floats in [0, 1]
    title: str
    before: float  # the objective on the starting picture
    after: float  # ... and on the final one


def maximize(subject: Subject, layer: str | None, channel: int, *, steps: int = 128, lr: float = 0.05,
             jitter: int = 2, blur_every: int = 4, blur_sigma: float = 0.5, tv_weight: float = 0.1,
             seed: int = 0) -> Picture:
    """Gradient ascent on the input for the mean activation of `channel` of `layer` (for a dense
    layer, that unit; with `layer=None`, the logit of class `channel`)."""
    model = subject.model.eval()
    module = get_layer(model, layer) if layer else None
    generator = torch.Generator().manual_seed(seed)
    pixels = (0.5 + 0.05 * torch.randn(1, *subject.input_shape, generator=generator)).clamp(0, 1)

    def objective(p: torch.Tensor) -> torch.Tensor:
        out = layer_output(model, subject.normalize(p), module)
        if not 0 <= channel < out.shape[1]:
            what = f"layer {layer!r} has {out.shape[1]} channels" if layer else f"there are {out.shape[1]} classes"
            raise ConvzooError(f"{channel} is out of range: {what}")
        return out[:, channel].float().mean()

    with _one_thread():
        with torch.no_grad():
            before = objective(pixels).item()
        pixels.requires_grad_(True)
        optimizer = torch.optim.Adam([pixels], lr=lr)
        for step in range(steps):
            shifted = torch.roll(pixels, _jitter(generator, jitter), dims=(2, 3))
            loss = -objective(shifted) + tv_weight * _total_variation(pixels)
            # Gradients for the picture only: the model's own .grad stays untouched.
            pixels.grad, = torch.autograd.grad(loss, pixels)
            optimizer.step()
            with torch.no_grad():
                if blur_every and (step + 1) % blur_every == 0:
                    pixels.copy_(_blur(pixels, blur_sigma))
                pixels.clamp_(0, 1)
        with torch.no_grad():
            after = objective(pixels).item()
    target = f"{layer} #{channel}" if layer else f"class {subject.classes[channel]}"
    return Picture(pixels.detach()[0].numpy(), f"{target}\n{before:.2f} → {after:.2f}", before, after)


def default_layer(subject: Subject) -> str:
    """The last conv layer: its channels respond to the largest, most specific patterns."""
    convs = list(conv_layers(subject.model))
    if not convs:
        raise ConvzooError(f"{subject.label} has no conv layers; name one with --layer")
    return convs[-1]


def deepdream(subject: Subject, layer: str, image_path, *, octaves: int = 3, octave_scale: float = 1.4,
              steps: int = 20, step_size: float = 0.01, jitter: int = 2, size: int | None = None,
              seed: int = 0) -> tuple[Picture, Picture]:
    """(the input, the dream): gradient ascent on the mean squared activation of `layer`,
    from the smallest octave up, carrying the added detail to each larger one."""
    model = subject.model.eval()
    module = get_layer(model, layer)
    generator = torch.Generator().manual_seed(seed)
    pixels, _ = subject.read(image_path)
    base = torch.from_numpy(np.array(pixels)).float()[None] / 255  # (1, C, H, W); a copy: read-only pixels
    if size:
        base = F.interpolate(base, size=(size, size), mode="bilinear", align_corners=False)
    height, width = base.shape[-2:]
    sizes = [(round(height / octave_scale**k), round(width / octave_scale**k)) for k in reversed(range(octaves))]
    sizes = [s for s in sizes if min(s) >= 8] or [(height, width)]

    def objective(p: torch.Tensor) -> torch.Tensor:
        return layer_output(model, subject.normalize(p), module).float().pow(2).mean()

    detail = torch.zeros(1, base.shape[1], *sizes[0])
    with _one_thread():
        for octave_size in sizes:
            octave = F.interpolate(base, size=octave_size, mode="bilinear", align_corners=False)
            detail = F.interpolate(detail, size=octave_size, mode="bilinear", align_corners=False)
            dream = (octave + detail).clamp(0, 1)
            for _ in range(steps):
                shift = _jitter(generator, jitter)
                shifted = torch.roll(dream, shift, dims=(2, 3)).requires_grad_(True)
                grad, = torch.autograd.grad(objective(shifted), shifted)
                grad = torch.roll(grad, tuple(-s for s in shift), dims=(2, 3))
                dream = (dream + step_size * grad / grad.abs().mean().clamp(min=1e-12)).clamp(0, 1)
            detail = dream - octave
        with torch.no_grad():
            before, after = objective(base).item(), objective(dream).item()
    original = Picture(base[0].numpy(), f"input\n{layer}: {before:.3g}", before, before)
    return original, Picture(dream[0].numpy(), f"dream, {len(sizes)} octaves\n{layer}: {after:.3g}", before, after)


def plot_pictures(pictures: list[Picture], path=None, title: str = ""):
    """The pictures of `maximize` or `deepdream` side by side, titled: a Figure, or written to `path`."""
    images = np.stack([p.pixels for p in pictures])
    cols = min(len(pictures), 4 if len(pictures) <= 8 else 8)
    cell = {1: 3.0, 2: 2.4}.get(len(pictures), 1.6)
    # suptitle does not wrap: break it at about as many characters as the figure is wide
    title = textwrap.fill(title, width=max(24, int(cols * cell * 11)))
    return image_grid(images, [p.title for p in pictures], path, cols=cols, title=title, cell_inches=cell)
