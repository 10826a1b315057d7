"""What one node of the layer graph does with the current input: its output maps, its filters,
the saliency map, the receptive field of a unit, and a convolution's multiply-and-sum for a unit.

One forward pass through the traced graph keeps every node's output; the saliency map is the
gradient of the predicted class's score with respect to the input (its absolute value, largest
over the input channels), from the same pass.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..analysis.graph import run_graph, unit_box
from ..errors import ConvzooError
from .payload import MAX_MAPS, png_data_url, tile_maps

MAX_VECTOR = 256  # values shown of a flat (dense) output
NEIGHBOURS = 5  # units explained along the clicked unit's row (it and the next ones): the animation


def _round(a) -> list:
    return np.round(np.asarray(a, dtype=np.float64), 4).tolist()


def model_input(predictor, image) -> tuple[object, torch.Tensor]:
    """(what the network saw, its normalised (1, C, H, W) input)."""
    prepared = predictor.prepare(image)
    arr = prepared.image[None] if prepared.image.ndim == 2 else prepared.image
    x = predictor.normalize(torch.from_numpy(np.require(arr[None], requirements=["C", "W"])))
    return prepared, x.float()


def saliency(x: torch.Tensor, output: torch.Tensor) -> tuple[np.ndarray, int]:
    """|d score / d input| as (H, W) uint8, and the index of the class whose score it is (for a
    segmentation output, the score is every pixel's winning class, summed)."""
    if output.ndim == 2:
        index = int(output[0].argmax())
        score = output[0, index]
    else:
        index = -1
        score = output[0].max(dim=0).values.sum()
    (grad,) = torch.autograd.grad(score, x)
    g = grad[0].abs().amax(dim=0)
    top = float(g.max())
    picture = (g / top * 255).clamp(0, 255) if top > 0 else torch.zeros_like(g)
    return picture.to(torch.uint8).numpy(), index


def filters_picture(module: nn.Module) -> dict | None:
    """A conv's kernels on their first input channel, tiled (first MAX_MAPS)."""
    if not isinstance(module, nn.Conv2d):
        return None
    w = module.weight.detach()[:MAX_MAPS, 0].float().numpy()  # (O, kh, kw)
    grid, rows, cols = tile_maps(w)
    return {"shape": list(module.weight.shape), "rows": rows, "cols": cols, "height": int(w.shape[1]),
            "width": int(w.shape[2]), "png": png_data_url(grid)}


def explain_conv(module: nn.Conv2d, inp: torch.Tensor, channel: int, y: int, x: int) -> dict:
    """The multiply-and-sum giving output unit (channel, y, x) of `module` on input `inp` (1, C, H, W):
    the first input channel's window, kernel and products, each channel's sum, the bias, the total."""
    (sy, sx), (py, px), (dy, dx) = module.stride, module.padding, module.dilation
    kh, kw = module.kernel_size
    per_group = module.in_channels // module.groups
    first = channel // (module.out_channels // module.groups) * per_group
    padded = F.pad(inp[0, first:first + per_group].detach().float(), (px, px, py, py))
    window = padded[:, y * sy:y * sy + dy * (kh - 1) + 1:dy, x * sx:x * sx + dx * (kw - 1) + 1:dx]
    if window.shape[1:] != (kh, kw):
        raise ConvzooError(f"unit ({y}, {x}) is outside this layer's output")
    kernel = module.weight.detach()[channel].float()
    products = window * kernel
    sums = products.sum(dim=(1, 2))
    bias = float(module.bias.detach()[channel]) if module.bias is not None else 0.0
    return {"unit": [channel, y, x], "origin": [y * sy - py, x * sx - px], "stride": [sy, sx],
            "padding": [py, px], "dilation": [dy, dx], "input_channels": per_group, "first_channel": first,
            "window": _round(window[0]), "kernel": _round(kernel[0]), "products": _round(products[0]),
            "channel_sum": round(float(sums[0]), 4), "sums": _round(sums[:64]), "bias": round(bias, 4),
            "total": round(float(sums.sum()) + bias, 4)}


def _node_and_values(served, image, node_id: str):
    graph, fields = served.graph()
    node = graph.by_id.get(node_id)
    if node is None:
        raise ConvzooError(f"no node {node_id!r} in {served.entry.key}'s graph")
    prepared, x = model_input(served.predictor, image)
    x.requires_grad_(True)
    with served.lock, torch.enable_grad():
        values = run_graph(graph, x)
    return graph, fields, node, prepared, x, values


def inspect_node(served, image, node_id: str, unit: tuple[int, int, int] | None = None) -> dict:
    graph, fields, node, prepared, x, values = _node_and_values(served, image, node_id)
    value_id = graph.value_of.get(node_id, node_id)
    out = values.outputs.get(value_id)
    if not isinstance(out, torch.Tensor):
        raise ConvzooError(f"{node.label} did not run on this input (the model's forward chose another path)")
    picture, index = saliency(x, values.final)
    result = {"node": node_id, "label": node.label, "kind": node.kind, "shape": list(out.shape[1:]),
              "input_shape": list(x.shape[1:]), "saliency_png": png_data_url(picture),
              "saliency_class": index, "input_png": png_data_url(_seen(prepared.image))}
    value = out.detach()[0].float()
    if value.ndim == 3:
        grid, rows, cols = tile_maps(value[:MAX_MAPS].numpy())
        result["maps"] = {"channels": int(value.shape[0]), "shown": min(MAX_MAPS, int(value.shape[0])),
                          "height": int(value.shape[1]), "width": int(value.shape[2]), "rows": rows,
                          "cols": cols, "png": png_data_url(grid)}
    else:
        result["vector"] = _round(value.flatten()[:MAX_VECTOR])
    module = dict(served.predictor.model.named_modules()).get(node.module) if node.module else None
    if node.members == 1 and module is not None:
        result["filters"] = filters_picture(module)
    if unit is not None:
        result["unit"] = _unit(graph, fields, node, module, values, value, unit)
    return result


def _seen(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 2 else (image[0] if image.shape[0] == 1 else image)


def _unit(graph, fields, node, module, values, value, unit) -> dict:
    channel, y, x = unit
    if value.ndim != 3 or not (0 <= channel < value.shape[0] and 0 <= y < value.shape[1] and 0 <= x < value.shape[2]):
        raise ConvzooError(f"unit ({channel}, {y}, {x}) is outside {node.label}'s output {list(value.shape)}")
    h, w = graph.input_shape[1:]
    result = {"unit": [channel, y, x], "value": round(float(value[channel, y, x]), 4),
              "box": unit_box(fields.get(node.id), y, x, h, w)}
    if isinstance(module, nn.Conv2d) and node.members == 1:
        inp = values.inputs[node.id]
        last = min(value.shape[2], x + NEIGHBOURS)
        result["explain"] = [explain_conv(module, inp, channel, y, k) for k in range(x, last)]
        result["neighbour_boxes"] = [unit_box(fields.get(node.id), y, k, h, w) for k in range(x, last)]
    return result
