"""Model summaries: one row per layer with its output shape, parameters and multiply-adds.

Shapes come from forward hooks on every module; multiply-adds from torch's own
`FlopCounterMode`, whose module hierarchy gives a per-module breakdown. It counts convolutions
and matrix multiplies (2 FLOPs per multiply-add); batch norm, pooling, activations and
element-wise adds are not counted, and the summary says so ("—") instead of inventing numbers.

Registry models are built on the meta device: shapes, parameter counts and FLOPs come out
without allocating or computing anything, so VGG-16's 138M parameters cost nothing.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from dataclasses import asdict, dataclass, field

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from ..errors import ConvzooError
from ..tables import Grid, Table, Tabular, human, human_bytes

NOT_COUNTED = ("— : no multiply-adds counted. FlopCounterMode counts convolutions and matrix multiplies "
               "only; batch norm, pooling, activations and element-wise adds (about one operation per "
               "output element) are left out.")
FLOPS_PER_MAC = 2  # FlopCounterMode's convention: one multiply-add = one multiply + one add


@dataclass
class LayerRow:
    name: str  # qualified module name, e.g. "features.0"
    type: str
    depth: int  # 1 for the model's children
    shape: list | None  # output shape without the batch dimension; None if never called
    params: int | None  # None: an expanded container with no parameters of its own
    trainable: int
    macs: int | None  # None: nothing the FLOP counter counts ("—")
    kind: str  # "conv", "dense" or "other"
    expanded: bool  # a container whose children are rows too (its numbers are only its own)
    calls: int = 1
    held: bool = False  # never called itself, but its layers ran (a ModuleList its parent loops over)


@dataclass
class Summary(Tabular):
    model: str
    input_shape: tuple[int, int, int]
    rows: list[LayerRow]
    params: int
    trainable: int
    macs: int  # per example
    activation_bytes: int  # per example: every leaf module's output, fp32
    param_bytes: int
    buffer_bytes: int
    notes: list[str] = field(default_factory=list)

    @property
    def flops(self) -> int:
        return self.macs * FLOPS_PER_MAC

    def to_dict(self) -> dict:
        d = asdict(self)
        d["flops"] = self.flops
        d["flops_per_mac"] = FLOPS_PER_MAC
        return d

    def table(self) -> Table:
        return summary_table(self)


def _kind(module: nn.Module) -> str:
    if isinstance(module, nn.modules.conv._ConvNd):
        return "conv"
    return "dense" if isinstance(module, nn.Linear) else "other"


def _shape_of(output) -> list | None:
    if isinstance(output, torch.Tensor):
        return list(output.shape[1:])
    if isinstance(output, (tuple, list)):
        shapes = [list(o.shape[1:]) for o in output if isinstance(o, torch.Tensor)]
        return shapes[0] if len(shapes) == 1 else shapes or None
    return None


def _numel(output) -> int:
    if isinstance(output, torch.Tensor):
        return output[0].numel() if output.ndim else 1
    if isinstance(output, (tuple, list)):
        return sum(_numel(o) for o in output)
    return 0


def run_forward(model: nn.Module, input_shape, label: str, hooks=(), mode=None):
    """One example through `model` in eval mode, without gradients, under `mode` (a context).

    `hooks` are (module, forward_hook) pairs. A shape the model cannot take is the user's input
    choice, so it becomes a one-line error.
    """
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    dtype = next((p.dtype for p in model.parameters() if p.is_floating_point()), torch.float32)
    handles = [m.register_forward_hook(h) for m, h in hooks]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), mode or contextlib.nullcontext():
            return model(torch.zeros(1, *input_shape, device=device, dtype=dtype))
    except RuntimeError as exc:
        size = "x".join(map(str, input_shape))
        raise ConvzooError(f"{label}: a {size} input does not fit ({str(exc).splitlines()[0][:150]})") from None
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)


def summarize(model: nn.Module, input_shape, depth: int | None = None, label: str = "model") -> Summary:
    """The per-layer table (modules down to `depth`, all of them when None) and the totals."""
    seen = _record_forward(model, input_shape, label)
    rows = _layer_rows(_ModuleTree(model, seen), depth)
    params = list(model.parameters())
    return Summary(
        model=label, input_shape=tuple(input_shape), rows=rows,
        params=sum(p.numel() for p in params), trainable=sum(p.numel() for p in params if p.requires_grad),
        macs=seen.total_flops // FLOPS_PER_MAC, activation_bytes=seen.activations * 4,
        param_bytes=sum(p.numel() * p.element_size() for p in params),
        buffer_bytes=sum(b.numel() * b.element_size() for b in model.buffers()), notes=_notes(rows))


@dataclass
class _Forward:
    """What one forward pass recorded, by qualified module name."""
    order: dict[str, int] = field(default_factory=dict)  # the order of each module's first call
    shapes: dict[str, list | None] = field(default_factory=dict)  # the first call's output shape
    calls: Counter = field(default_factory=Counter)
    activations: int = 0  # elements output by leaf modules
    flops: dict[str, dict] = field(default_factory=dict)  # FlopCounterMode's, by "<RootClass>.<name>"
    total_flops: int = 0


def _record_forward(model: nn.Module, input_shape, label: str) -> _Forward:
    """One example through the model, with hooks on every module and the FLOP counter around it."""
    names = {module: name for name, module in model.named_modules()}
    seen = _Forward()

    def pre_hook(module, args):
        seen.order.setdefault(names[module], len(seen.order))

    def hook(module, args, output):
        name = names[module]
        seen.calls[name] += 1
        seen.shapes.setdefault(name, _shape_of(output))
        if not any(True for _ in module.children()):
            seen.activations += _numel(output)

    counter = FlopCounterMode(display=False, depth=None)
    pre_handles = [m.register_forward_pre_hook(pre_hook) for m in names]
    try:
        run_forward(model, input_shape, label, [(m, hook) for m in names], counter)
    finally:
        for h in pre_handles:
            h.remove()
    seen.flops, seen.total_flops = counter.get_flop_counts(), counter.get_total_flops()
    return seen


class _ModuleTree:
    """The model's modules by qualified name, with what the forward pass recorded of each."""

    def __init__(self, model: nn.Module, seen: _Forward):
        self.modules = dict(model.named_modules())
        self.root = type(model).__name__
        self.seen = seen
        self.position = {name: i for i, name in enumerate(self.modules)}

    def children(self, name: str) -> list[str]:
        return [f"{name}.{c}" if name else c for c, _ in self.modules[name].named_children()]

    def subtree_macs(self, name: str) -> int:
        """MACs of `name` with everything inside it. FlopCounterMode names a module
        "<RootClass>.<qualified name>" and counts FLOPs for every module on the stack, so a module
        that ran is counted whole; one that never ran (a ModuleList its parent loops over) holds
        only what its children counted, so a container's own share is never negative."""
        if self.seen.calls[name] or not name:
            key = f"{self.root}.{name}" if name else self.root
            return sum(self.seen.flops.get(key, {}).values()) // FLOPS_PER_MAC
        return sum(self.subtree_macs(c) for c in self.children(name))

    def ran_inside(self, name: str) -> bool:
        return any(self.seen.calls[c] or self.ran_inside(c) for c in self.children(name))

    def first_run(self, name: str) -> int | None:
        if name in self.seen.order:
            return self.seen.order[name]
        return min((o for c in self.children(name) if (o := self.first_run(c)) is not None), default=None)

    def reading_order(self, row: LayerRow) -> int:
        """Execution order reads like the network (a holder where its first layer ran); modules
        never called go last."""
        ran = self.first_run(row.name if row.depth else "")
        return ran if ran is not None else len(self.seen.order) + self.position.get(row.name, 0)


def _layer_rows(tree: _ModuleTree, depth: int | None) -> list[LayerRow]:
    """One row per module down to `depth`, a container's numbers only its own when its children
    are rows too, in reading order."""
    rows, calls = [], tree.seen.calls
    for name, module in tree.modules.items():
        level = name.count(".") + 1 if name else 0
        children = tree.children(name)
        expanded = bool(children) and (depth is None or level < depth)
        if depth is not None and level > depth:
            continue
        own = list(module.parameters(recurse=not expanded))
        macs = tree.subtree_macs(name) - (sum(tree.subtree_macs(c) for c in children) if expanded else 0)
        if name == "" and not own and not macs:
            continue  # the model itself, when it only arranges its children
        if name and expanded and not calls[name] and not own and tree.ran_inside(name):
            continue  # a holder its parent loops over (ModuleList): its children are rows of their own
        rows.append(LayerRow(
            name=name or "(model)", type=type(module).__name__, depth=level, shape=tree.seen.shapes.get(name),
            params=sum(p.numel() for p in own) if own or not expanded else None,
            trainable=sum(p.numel() for p in own if p.requires_grad),
            macs=macs or None, kind=_kind(module), expanded=expanded, calls=calls[name],
            held=bool(name) and not calls[name] and tree.ran_inside(name)))
    return sorted(rows, key=tree.reading_order)


def _notes(rows: list[LayerRow]) -> list[str]:
    """What the table's marks mean, for the marks it shows."""
    notes = [NOT_COUNTED] if any(r.macs is None and not r.expanded for r in rows) else []
    if any(r.calls > 1 for r in rows):
        notes.append("×n: a module called n times; its MACs are summed over the calls, its shape is the first call's")
    if any(r.shape is None and not r.held for r in rows if not r.expanded):
        notes.append("'not called': a module the forward pass never used")
    if any(r.held for r in rows):
        notes.append("'(its layers ran)': a container its parent ran layer by layer; the numbers are its layers'")
    return notes


def format_shape(shape) -> str:
    if shape is None:
        return "not called"
    if shape and isinstance(shape[0], list):
        return ", ".join(format_shape(s) for s in shape)
    return "x".join(map(str, shape)) or "scalar"


def format_summary(s: Summary) -> str:
    """The table as `convzoo summary` prints it."""
    return summary_table(s).text()


def summary_table(s: Summary) -> Table:
    frozen = any(r.params is not None and r.trainable != r.params for r in s.rows)
    header = ["layer", "type", "output", "params", *(["trainable"] if frozen else []), "MACs"]
    table = []
    for r in s.rows:
        name = "  " * max(r.depth - 1, 0) + r.name + (f" ×{r.calls}" if r.calls > 1 else "")
        macs = "" if r.expanded and r.macs is None else "—" if r.macs is None else f"{r.macs:,}"
        params = "" if r.params is None else f"{r.params:,}"
        table.append([name, r.type, "(its layers ran)" if r.held else format_shape(r.shape), params,
                      *([f"{r.trainable:,}" if r.params is not None else ""] if frozen else []), macs])
    right = {i for i, h in enumerate(header) if h in ("params", "trainable", "MACs")}
    size = "x".join(map(str, s.input_shape))
    return Table(
        f"{s.model}, input {size} (one example)", Grid(header, table, right, rule=True), "",
        f"parameters         {s.params:,} ({s.trainable:,} trainable, {s.params - s.trainable:,} not)",
        f"multiply-adds      {s.macs:,} MACs = {s.flops:,} FLOPs ({human(s.macs)} MACs; 1 MAC = 2 FLOPs)",
        f"activation memory  {human_bytes(s.activation_bytes)} per example (every leaf module's output, fp32)",
        f"parameter memory   {human_bytes(s.param_bytes)} (+ {human_bytes(s.buffer_bytes)} of buffers)",
        *(f"note: {n}" for n in s.notes))
