"""Pictures of what a CNN learned: filters and feature maps (Zeiler & Fergus). A run's test-set
pictures (confusion matrix, mistakes, masks, curves) are in analysis/runplots.py. Each picture is a
matplotlib Figure, or with `path` written atomically (convzoo.figures).

Everything takes a trained checkpoint (a file, a run directory or a pretrained name) or a
registry name (untrained weights, for comparison).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..data import Normalizer
from ..errors import ConvzooError, unknown_name
from ..figures import figure_result, new_figure
from ..infer import Predictor, conv_map_modules, read_image, to_uint8_input
from ..models import is_user_spec, model_info
from .gallery import image_grid
from .loading import is_model_name, load_model

DPI = 100
UNTRAINED_MEAN, UNTRAINED_STD = 0.5, 0.5  # inputs of an untrained model: pixels mapped to [-1, 1]


@dataclass
class Subject:
    """A model with the preprocessing of its data: what the pictures are drawn from."""

    model: nn.Module
    label: str
    input_shape: tuple[int, int, int]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    preprocess: object  # PIL image -> (C, H, W) uint8 at the model's size
    classes: list[str]

    def normalize(self, pixels: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) floats in [0, 1] -> the model's input."""
        mean = torch.tensor(self.mean, dtype=pixels.dtype)[None, :, None, None]
        std = torch.tensor(self.std, dtype=pixels.dtype)[None, :, None, None]
        return (pixels - mean) / std

    def read(self, image_path) -> tuple[np.ndarray, torch.Tensor]:
        """(uint8 (C, H, W) as the model sees it, the normalised (1, C, H, W) input)."""
        pixels = self.preprocess(read_image(image_path))
        return pixels, Normalizer(self.mean, self.std)(torch.from_numpy(np.array(pixels))[None])


def open_subject(ref: str | nn.Module, code: str | None = None, model_args: list[str] | None = None,
                 data=None) -> Subject:
    """A checkpoint through the predictor (its preprocessing; `code` rebuilds the user's own model);
    a registry name or the user's `FILE.py:Class` (with `model_args`) untrained; a module in memory,
    reading `data` (a dataset name, a DataBundle or an ArrayDataset; guessed without it)."""
    if isinstance(ref, nn.Module):
        from ..infer.describe import describe_input

        label = type(ref).__name__
        predictor = Predictor.from_model(ref, describe_input(ref, data, label=label))
        described = predictor.data
        return Subject(ref, label, tuple(described["shape"]), tuple(described["mean"]), tuple(described["std"]),
                       predictor.preprocess, predictor.classes)
    if is_model_name(ref) or is_user_spec(ref):
        loaded = load_model(ref, model_args=model_args)
        channels, height, width = loaded.input_shape
        preprocess = partial(to_uint8_input, channels=channels, size=(height, width), dark_background=False)
        classes = [str(i) for i in range(_class_count(loaded.model, ref, channels, (height, width)))]
        return Subject(loaded.model, f"{ref} (untrained)", loaded.input_shape, channels * (UNTRAINED_MEAN,),
                       channels * (UNTRAINED_STD,), preprocess, classes)
    predictor = Predictor(ref, code=code)
    data = predictor.data
    label = f"{Path(str(ref).rstrip('/')).name} ({predictor.model.convzoo_spec['name']})"
    return Subject(predictor.model, label, tuple(data["shape"]), tuple(data["mean"]), tuple(data["std"]),
                   predictor.preprocess, predictor.classes)


def _class_count(model: nn.Module, ref: str, channels: int, size: tuple[int, int]) -> int:
    """A registry model's class count; the user's model's, from one forward pass of a blank image."""
    if not is_user_spec(ref):
        return model_info(ref).num_classes
    try:
        with torch.inference_mode():
            outputs = model.eval()(torch.zeros(1, channels, *size))
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0][:120]
        raise ConvzooError(f"{ref} cannot take a {channels}x{size[0]}x{size[1]} input ({first})") from None
    return int(outputs.shape[1]) if outputs.ndim >= 2 else 1


# ---- layers ----------------------------------------------------------------------------------
def conv_layers(model: nn.Module) -> dict[str, nn.Conv2d]:
    return {n: m for n, m in model.named_modules() if isinstance(m, nn.Conv2d)}


def get_layer(model: nn.Module, name: str) -> nn.Module:
    modules = dict(model.named_modules())
    if name not in modules or not name:
        raise unknown_name("layer", name, [n for n in modules if n])
    return modules[name]


# ---- filters ---------------------------------------------------------------------------------
def plot_filters(subject: Subject, path=None, layer: str | None = None, max_filters: int = 64,
                 max_channels: int = 8):
    """The kernels of the first conv layer (RGB where its input is RGB) or of layer `layer`,
    one input channel at a time (rows: filters, columns: input channels)."""
    convs = conv_layers(subject.model)
    if not convs:
        raise ConvzooError(f"{subject.label} has no conv layers")
    name = layer or next(iter(convs))
    conv = get_layer(subject.model, name)
    if not isinstance(conv, nn.Conv2d):
        raise ConvzooError(f"layer {name!r} is a {type(conv).__name__}, not a conv layer; conv layers: "
                           + ", ".join(convs))
    weight = conv.weight.detach().float().cpu()[:max_filters]  # (O, I, kh, kw)
    out_channels, in_channels = weight.shape[:2]
    shown = f"{out_channels} of {conv.out_channels}" if out_channels < conv.out_channels else f"{out_channels}"
    title = f"{subject.label}\nlayer {name}: {shown} filters, {conv.kernel_size[0]}x{conv.kernel_size[1]}"
    if in_channels == 3 and name == next(iter(convs)):
        # One colour picture per filter, each scaled to its own range (Krizhevsky et al.'s figure 3).
        low = weight.amin((1, 2, 3), keepdim=True)
        high = weight.amax((1, 2, 3), keepdim=True)
        images = ((weight - low) / (high - low).clamp(min=1e-12)).numpy()
        titles, cols = [str(i) for i in range(out_channels)], min(out_channels, 8)
    elif in_channels == 1:
        images, titles, cols = weight[:, 0].numpy(), [str(i) for i in range(out_channels)], min(out_channels, 8)
    else:  # rows: filters, columns: the input channels each one reads
        channels = min(in_channels, max_channels)
        images = weight[:, :channels].reshape(-1, *weight.shape[2:]).numpy()
        titles = [f"{o}:{c}" for o in range(out_channels) for c in range(channels)]
        cols = channels
        title += f" (filter:input channel; {channels} of {in_channels} input channels)"
    cell = 1.2 if len(images) <= 8 else 0.9
    return image_grid(images, titles, path, cols=cols, title=title, cell_inches=cell, interpolation="nearest")


# ---- feature maps ----------------------------------------------------------------------------
def capture(model: nn.Module, x: torch.Tensor, names: list[str]) -> dict[str, torch.Tensor]:
    """The outputs of the named modules on input `x` (one forward pass, no gradients)."""
    outputs: dict[str, torch.Tensor] = {}
    handles = [get_layer(model, n).register_forward_hook(
        lambda module, args, out, n=n: outputs.setdefault(n, out.detach())) for n in names]
    try:
        with torch.no_grad():
            model.eval()(x)
    finally:
        for h in handles:
            h.remove()
    return outputs


def stage_layers(model: nn.Module, x: torch.Tensor) -> list[str]:
    """One layer per conv stage (a run of convs with the same output size): the activation after
    its last conv, i.e. the maps the next stage sees (picked as the demo's `conv_map_modules` does)."""
    outputs = capture(model, x, list(conv_layers(model)))
    names = list(outputs)  # in the order they ran
    last = [n for i, n in enumerate(names)
            if i + 1 == len(names) or outputs[names[i + 1]].shape[-2:] != outputs[n].shape[-2:]]
    shown = dict(conv_map_modules(model, max_layers=len(names)))
    module_names = {m: n for n, m in model.named_modules()}
    return [module_names[shown[n]] for n in last]


def plot_features(subject: Subject, image_path, path=None, layers: list[str] | None = None,
                  per_layer: int = 16, cols: int = 8):
    """The input beside the feature maps of each conv stage: each stage's most active channels."""
    pixels, x = subject.read(image_path)
    layers = layers or stage_layers(subject.model, x)
    if not layers:
        raise ConvzooError(f"{subject.label} has no conv layers; name layers with --layers")
    outputs = capture(subject.model, x, layers)
    stages = []
    for name in layers:
        maps = outputs.get(name)
        if maps is None or maps.ndim != 4:
            raise ConvzooError(f"layer {name!r} has no feature maps (output {tuple(maps.shape) if maps is not None else None})")
        maps = maps[0].float()
        order = maps.flatten(1).amax(1).argsort(descending=True)[:per_layer]
        stages.append((name, maps, order))
    rows = [math.ceil(len(order) / cols) for _, _, order in stages]
    fig = new_figure(figsize=(1.1 * (cols + 2), 1.2 * sum(rows) + 0.4), dpi=DPI)
    grid = fig.add_gridspec(sum(rows), cols + 2)
    ax = fig.add_subplot(grid[:, :2])
    _show_input(ax, pixels)
    row = 0
    for (name, maps, order), n_rows in zip(stages, rows):
        for k, channel in enumerate(order.tolist()):
            ax = fig.add_subplot(grid[row + k // cols, 2 + k % cols])
            ax.imshow(maps[channel].numpy(), cmap="viridis")
            ax.set_title(f"layer {name}: #{channel}" if k == 0 else f"#{channel}", fontsize=7)
            ax.axis("off")
        row += n_rows
    fig.suptitle(f"{subject.label}: feature maps, the {per_layer} most active channels per layer", fontsize=9)
    return figure_result(fig, path, dpi=DPI)


def _show_input(ax, pixels: np.ndarray) -> None:
    img = pixels.transpose(1, 2, 0)
    ax.imshow(img[..., 0] if img.shape[-1] == 1 else img, cmap="gray", vmin=0, vmax=255)
    ax.set_title("input", fontsize=8)
    ax.axis("off")
