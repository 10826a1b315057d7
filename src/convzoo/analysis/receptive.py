"""Receptive fields from layer geometry: for every layer, the field, jump and start of its output.

Per axis, a feature map's geometry is (r, j, s): each output pixel sees r input pixels, moving
one output pixel moves its field j input pixels, and the first pixel's field is centred on
input position s (pixel centres at 0, 1, ...; negative means padding). A layer with kernel k,
stride t, padding p and dilation d maps it to

    k' = d(k - 1) + 1,   r' = r + (k' - 1) j,   j' = j t,   s' = s + ((k' - 1)/2 - p) j.

The geometry is traced through the forward pass itself, at the level of torch's operators (on
the meta device, so nothing is computed): every convolution and pooling applies the formula
above, strided slicing and spatial padding shift the grid, and an operator that keeps the
spatial size (activations, batch norm, channel concatenation, the residual add) takes the
union of its inputs' fields. So for branching models the field is the union over branches:
a ResNet block's output sees what its 3x3 branch sees, not just its 1x1 shortcut. That union is
the true dependency region, the one the gradient test in tests/test_analysis.py measures.
Anything that mixes in a spatially global statistic (global pooling, a squeeze-and-excitation
gate) makes the field "global"; operators whose geometry is not modelled (upsampling,
transposed convolutions) make it "unknown" from there on.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from ..tables import Grid, Table, Tabular
from .summary import format_shape, run_forward

aten = torch.ops.aten


@dataclass(frozen=True)
class Axis:
    rf: float
    jump: float
    start: float

    def through(self, kernel: int, stride: int, padding: int, dilation: int = 1) -> Axis:
        span = dilation * (kernel - 1)
        return Axis(self.rf + span * self.jump, self.jump * stride, self.start + (span / 2 - padding) * self.jump)

    def interval(self, index: int) -> tuple[float, float]:
        """The input positions (first, last) seen by output pixel `index`."""
        centre = self.start + index * self.jump
        return centre - (self.rf - 1) / 2, centre + (self.rf - 1) / 2


GLOBAL, UNKNOWN = "global", "unknown"  # the two geometries that are not (Axis, Axis)
IDENTITY = (Axis(1, 1, 0), Axis(1, 1, 0))


def _union(fields: list) -> object:
    if UNKNOWN in fields:
        return UNKNOWN
    if GLOBAL in fields:
        return GLOBAL
    if len(set(fields)) == 1:
        return fields[0]
    axes = []
    for per_axis in zip(*fields):
        first = min(a.interval(0)[0] for a in per_axis)
        last = max(a.interval(0)[1] for a in per_axis)
        axes.append(Axis(last - first + 1, max(a.jump for a in per_axis), (first + last) / 2))
    return tuple(axes)


def _pairs(value, default) -> list[int]:
    value = default if value is None or value == [] else value
    return list(value) * 2 if len(value) == 1 else list(value)


class _Tracer(TorchDispatchMode):
    """Records a geometry for every tensor with spatial dimensions (the last two)."""

    def __init__(self):
        super().__init__()
        self.fields: dict[int, tuple[torch.Tensor, object]] = {}  # id -> (tensor kept alive, field)

    def field(self, tensor) -> object | None:
        entry = self.fields.get(id(tensor))
        return entry[1] if entry and entry[0] is tensor else None

    def mark(self, tensor, field) -> None:
        self.fields[id(tensor)] = (tensor, field)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        outputs = [t for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor) and t.ndim >= 3]
        if outputs:
            field = self._rule(func, args, outputs[0])
            if field is not None:
                for t in outputs:
                    self.mark(t, field)
        return out

    def _rule(self, func, args, out):
        tensors = [t for t in tree_flatten(args)[0] if isinstance(t, torch.Tensor)]
        known = [(t, self.field(t)) for t in tensors if self.field(t) is not None]
        if not known:
            return None
        x, field = known[0]
        packet = func.overloadpacket
        if field in (GLOBAL, UNKNOWN) and packet not in (aten.slice, aten.constant_pad_nd):
            return _union([f for _, f in known])
        if packet is aten.convolution:
            _, weight, _, stride, padding, dilation, transposed = args[:7]
            if transposed or weight.ndim != 4:
                return UNKNOWN
            return tuple(a.through(k, t, p, d) for a, k, t, p, d in
                         zip(field, weight.shape[2:], stride, padding, dilation))
        if packet in (aten.max_pool2d_with_indices, aten.max_pool2d, aten.avg_pool2d):
            kernel = _pairs(args[1], None)
            stride = _pairs(args[2] if len(args) > 2 else None, kernel)
            padding = _pairs(args[3] if len(args) > 3 else None, [0])
            dilation = _pairs(args[4] if len(args) > 4 and packet is not aten.avg_pool2d else None, [1])
            return tuple(a.through(*g) for a, *g in zip(field, kernel, stride, padding, dilation))
        if packet in (aten._adaptive_avg_pool2d, aten.adaptive_max_pool2d):
            size_in, size_out = x.shape[-2:], out.shape[-2:]
            if tuple(size_out) == (1, 1):
                return GLOBAL
            if any(i % o for i, o in zip(size_in, size_out)):
                return UNKNOWN  # uneven bins: no single kernel and stride
            return tuple(a.through(i // o, i // o, 0) for a, i, o in zip(field, size_in, size_out))
        if packet is aten.slice:
            return self._slice(field, x, args)
        if packet is aten.constant_pad_nd:
            if field in (GLOBAL, UNKNOWN):
                return field
            pad = list(args[1]) + [0] * 4
            left, top = pad[0], pad[2]
            return (Axis(field[0].rf, field[0].jump, field[0].start - top * field[0].jump),
                    Axis(field[1].rf, field[1].jump, field[1].start - left * field[1].jump))
        # Size-keeping operators take the union; a global statistic broadcast back onto a map
        # (x * gate, squeeze-and-excitation) makes the result depend on everything.
        same = [f for t, f in known if t.shape[-2:] == out.shape[-2:] or f == GLOBAL]
        if same:
            return _union(same)
        if out.shape[-2:] == (1, 1):
            return GLOBAL  # a spatial reduction (mean over H and W, keepdim)
        return UNKNOWN  # the size changed in a way not modelled here (upsampling, ...)

    @staticmethod
    def _slice(field, x, args):
        dim = args[1] if len(args) > 1 else 0
        dim = dim % x.ndim
        if dim < x.ndim - 2 or field in (GLOBAL, UNKNOWN):
            return field
        size = x.shape[dim]
        start = args[2] if len(args) > 2 and args[2] is not None else 0
        start = max(0, start + size if start < 0 else start)
        step = args[4] if len(args) > 4 else 1
        axes = list(field)
        a = axes[dim - (x.ndim - 2)]
        axes[dim - (x.ndim - 2)] = Axis(a.rf, a.jump * step, a.start + start * a.jump)
        return tuple(axes)


@dataclass
class FieldRow:
    name: str
    type: str
    shape: list | None
    field: object  # (Axis, Axis), GLOBAL, UNKNOWN, or None (no spatial output)


class FieldTable(list, Tabular):
    """The rows of `receptive_fields` (a list of FieldRow) that show as their table."""

    def __init__(self, rows, label: str):
        super().__init__(rows)
        self.label = label

    def table(self) -> Table:
        return fields_table(self, self.label)


def receptive_fields(model, input_shape, label: str = "model") -> FieldTable:
    """The input, then every leaf module in the order it runs, with its output's field; a block
    (container) gets a row after its children where its output's field is new (a concatenation
    or addition in its own forward)."""
    tracer = _Tracer()
    rows = [FieldRow("input", "", list(input_shape), IDENTITY)]
    names = {m: n for n, m in model.named_modules()}

    def mark_input(module, args):
        tracer.mark(args[0], IDENTITY)

    def hook(module, args, output):
        tensors = [t for t in tree_flatten(output)[0] if isinstance(t, torch.Tensor)]
        field = tracer.field(tensors[0]) if tensors else None
        shape = list(tensors[0].shape[1:]) if tensors else None
        is_leaf = not any(True for _ in module.children())
        if is_leaf or (field != rows[-1].field or shape != rows[-1].shape) and module is not model:
            rows.append(FieldRow(names[module], type(module).__name__, shape, field))

    handle = model.register_forward_pre_hook(mark_input)
    try:
        run_forward(model, input_shape, label, [(m, hook) for m in names], tracer)
    finally:
        handle.remove()
    return FieldTable(rows, label)


def final_field(rows: list[FieldRow]) -> FieldRow:
    """The last layer with a spatial output: what the classifier's features see."""
    return next((r for r in reversed(rows) if r.field is not None), rows[0])


def largest_finite(rows: list[FieldRow]) -> FieldRow:
    """The last layer whose field is finite (before global pooling or a global gate)."""
    return next((r for r in reversed(rows) if isinstance(r.field, tuple)), rows[0])


def _fmt(values) -> str:
    a, b = (f"{v:g}" for v in values)
    return a if a == b else f"{a}x{b}"


def describe(field) -> tuple[str, str, str]:
    """(rf, jump, start) as printed; H and W collapse to one number when equal."""
    if field is None:
        return ("—", "", "")
    if field in (GLOBAL, UNKNOWN):
        return (field, "", "")
    return _fmt(a.rf for a in field), _fmt(a.jump for a in field), _fmt(a.start for a in field)


def format_fields(rows: list[FieldRow], label: str) -> str:
    return fields_table(rows, label).text()


def fields_table(rows: list[FieldRow], label: str) -> Table:
    header = ["layer", "type", "output", "RF", "jump", "start"]
    table = [[r.name, r.type, format_shape(r.shape), *describe(r.field)] for r in rows]
    title = (f"{label}: receptive field per layer (RF and jump in input pixels; start = centre of the "
             "first output pixel's field, in input pixel coordinates)")
    lines = [title, Grid(header, table, right={3, 4, 5}, rule=True)]
    last, finite = final_field(rows), largest_finite(rows)
    lines.append("")
    if last is not finite:
        lines.append(f"last spatial layer {last.name}: {last.field} (depends on the whole input)")
    rf, jump, _ = describe(finite.field)
    lines += [f"last finite field, {finite.name}: each output pixel sees {rf} input pixels (jump {jump})",
              "—: no spatial output; global: depends on the whole input; branches: union of their fields"]
    return Table(*lines)
