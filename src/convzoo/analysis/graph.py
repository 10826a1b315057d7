"""A model's layer graph from a traced forward pass: every layer a node with its output shape,
parameters and multiply-adds (`convzoo summary`'s numbers), every edge with its tensor shape.

The graph comes from `torch.fx.symbolic_trace`, not from per-family code, so branches (Inception's
four paths, a residual add, DenseNet's concatenation) come out as branches. A model whose forward
has data-dependent control flow is traced with its blocks as opaque nodes (depth 2, then 1); one
whose own forward cannot be traced is drawn from module hooks as a chain (analysis/graph_hooks.py),
with a note. The receptive field of every node's output is traced in the same forward pass (analysis.receptive's
operator rules), so a unit of any node, add or concatenation included, has its field.

A graph with more than `max_nodes` nodes is collapsed: nodes are grouped by the module that holds
them, at the deepest module depth that fits (a ResNet-110 becomes one node per residual block).
"""

from __future__ import annotations

import torch
from torch import fx, nn

from ..errors import ConvzooError
from .graph_hooks import chain_graph, run_chain
from .graph_nodes import MAX_NODES, GraphNode, GraphRun, LayerGraph, collapse, kind_of, layout
from .receptive import GLOBAL, IDENTITY, UNKNOWN, Axis, _Tracer
from .summary import summarize

FUNCTION_NAMES = {"add": "add", "iadd": "add", "cat": "concat", "mul": "mul", "flatten": "flatten",
                  "relu": "relu", "adaptive_avg_pool2d": "avgpool", "max_pool2d": "maxpool",
                  "avg_pool2d": "avgpool", "interpolate": "upsample", "softmax": "softmax"}


class _BlockTracer(fx.Tracer):
    """A layer is a node: torch's leaf modules and any module without children (a custom layer,
    e.g. a zero-padding shortcut, as `convzoo summary` counts it), plus every module at `depth`."""

    def __init__(self, depth: int | None):
        super().__init__()
        self.depth = depth

    def is_leaf_module(self, m: nn.Module, qualified_name: str) -> bool:
        deep = self.depth is not None and qualified_name.count(".") + 1 >= self.depth
        childless = not any(True for _ in m.children()) and qualified_name != ""
        return deep or childless or super().is_leaf_module(m, qualified_name)


class Untraceable(ConvzooError):
    def __init__(self, label: str, why: str):
        super().__init__(f"{label}: its forward pass cannot be traced into a graph ({why})")
        self.why = why


def trace(model: nn.Module, label: str = "model") -> tuple[fx.GraphModule, int | None]:
    """(the traced module sharing `model`'s parameters, the depth at which blocks stayed opaque)."""
    model.eval()
    why = "unknown"
    for depth in (None, 2, 1):
        try:
            tracer = _BlockTracer(depth)
            graph = tracer.trace(model)
            return fx.GraphModule(tracer.root, graph), depth
        except Exception as exc:  # noqa: BLE001 - data-dependent control flow: trace coarser
            why = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
    raise Untraceable(label, why)


def _function_name(node: fx.Node) -> str:
    target = node.target if isinstance(node.target, str) else getattr(node.target, "__name__", str(node.target))
    return FUNCTION_NAMES.get(target.strip("_"), target.strip("_"))


def _fx_values(gm: fx.GraphModule, x: torch.Tensor) -> dict[str, object]:
    """Every fx node's output for input `x` (node name -> value), from one forward pass."""
    values: dict[str, object] = {}

    class Keeper(fx.Interpreter):
        def run_node(self, n):
            values[n.name] = out = super().run_node(n)
            return out

    Keeper(gm).run(x)
    return values


def run_graph(graph: LayerGraph, x: torch.Tensor) -> GraphRun:
    """Every node's output (and a module node's input) for input `x`, from one forward pass."""
    if graph.module is None:
        return run_chain(graph.hooked, x)
    values = _fx_values(graph.module, x)
    inputs = {n.name: values[n.all_input_nodes[0].name] for n in graph.module.graph.nodes
              if n.op == "call_module" and n.all_input_nodes}
    final = values[next(n for n in graph.module.graph.nodes if n.op == "output").name]
    while isinstance(final, (tuple, list)):  # an auxiliary head's outputs: the main one is first
        final = final[0]
    return GraphRun(values, inputs, final)


def layer_graph(model: nn.Module, input_shape, label: str = "model", max_nodes: int = MAX_NODES):
    """The graph, and per node id its receptive-field geometry ((Axis, Axis), GLOBAL, UNKNOWN or None).
    A model fx cannot trace is drawn as a chain of its layers (graph_hooks), with `note` saying so."""
    rows = {r.name: r for r in summarize(model, input_shape, label=label).rows}
    try:
        gm, depth = trace(model, label)
    except Untraceable as exc:
        graph, fields = chain_graph(model, input_shape, label, exc.why, rows, max_nodes)
        layout(graph)
        return graph, fields
    values, tracer = _traced_forward(gm, model, input_shape, label)
    nodes, fields, stacks = _kept_nodes(gm, values, tracer, dict(model.named_modules()), rows)
    graph = LayerGraph(label, tuple(input_shape), nodes, False, depth, module=gm)
    if len(graph.nodes) > max_nodes:
        graph, fields = collapse(graph, stacks, fields, max_nodes)
    layout(graph)
    return graph, fields


def _traced_forward(gm: fx.GraphModule, model: nn.Module, input_shape, label: str) -> tuple[dict, _Tracer]:
    """Every fx node's output for a zero input, with the receptive-field tracer watching."""
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    x = torch.zeros(1, *input_shape, device=device)
    tracer = _Tracer()
    try:
        with torch.no_grad(), tracer:
            tracer.mark(x, IDENTITY)
            values = _fx_values(gm, x)
    except RuntimeError as exc:
        raise ConvzooError(f"{label}: a {'x'.join(map(str, input_shape))} input does not fit "
                           f"({str(exc).splitlines()[0][:150]})") from None
    return values, tracer


def _kept_nodes(gm: fx.GraphModule, values: dict, tracer: _Tracer, modules: dict, rows: dict):
    """A node for every fx node whose output is a tensor, with its receptive field and its module
    stack (for collapsing); sizes, tuple items and attributes pass through to the tensors they
    come from. Returns (nodes, fields, stacks)."""
    nodes: list[GraphNode] = []
    fields: dict[str, object] = {}
    stacks: dict[str, list[str]] = {}
    feeds: dict[str, list[str]] = {}  # any fx node -> the kept nodes it stands for
    for n in gm.graph.nodes:
        sources = list(dict.fromkeys(s for a in n.all_input_nodes for s in feeds.get(a.name, [])))
        value = values.get(n.name)
        if n.op == "output":
            out = value if isinstance(value, torch.Tensor) else next((v for v in _tensors(value)), None)
            nodes.append(GraphNode(n.name, "output", "output", "output", None,
                                   list(out.shape[1:]) if out is not None else None, 0, 0, sources))
            continue
        if not isinstance(value, torch.Tensor) or n.op == "get_attr":
            feeds[n.name] = sources  # sizes, getitem of a tuple, ...: pass through to real tensors
            continue
        feeds[n.name] = [n.name]
        stacks[n.name] = list(n.meta.get("nn_module_stack", {}).keys())
        fields[n.name] = tracer.field(value) if value.ndim >= 3 else None
        nodes.append(_layer_node(n, list(value.shape[1:]), sources, modules, rows))
    return nodes, fields, stacks


def _layer_node(n: fx.Node, shape: list, sources: list[str], modules: dict, rows: dict) -> GraphNode:
    """The input, a module (its parameters and multiply-adds from the summary's rows), or a function."""
    if n.op == "placeholder":
        return GraphNode(n.name, "input", "input", "input", None, shape, 0, 0, [])
    if n.op == "call_module":
        module = modules[n.target]
        row = rows.get(n.target)
        params = sum(p.numel() for p in module.parameters())
        macs = _subtree_macs(rows, n.target) if row is not None and row.expanded else (row.macs or 0) if row else 0
        if row is not None and row.calls > 1:
            macs //= row.calls  # summary sums a shared module's calls; a node is one call
        return GraphNode(n.name, n.target, type(module).__name__, kind_of(module, ""), n.target,
                         shape, params, macs, sources)
    name = _function_name(n)
    return GraphNode(n.name, name, name, kind_of(None, name), None, shape, 0, 0, sources)


def _tensors(value):
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, (tuple, list)):
        for v in value:
            yield from _tensors(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _tensors(v)


def _subtree_macs(rows, name: str) -> int:
    """A block's own share plus its descendants' (summary gives an expanded row only its own share)."""
    return sum(r.macs or 0 for n, r in rows.items() if n == name or n.startswith(name + "."))


def unit_box(field, y: int, x: int, height: int, width: int) -> dict | None:
    """The input rows and columns (inclusive, clipped to the image) seen by unit (y, x), or None
    when the field is global, unknown or not spatial."""
    if field in (None, GLOBAL, UNKNOWN):
        return None
    fy, fx_ = field
    (top, bottom), (left, right) = Axis.interval(fy, y), Axis.interval(fx_, x)
    clip = lambda v, hi: int(min(max(v, 0), hi - 1))
    return {"top": clip(top, height), "bottom": clip(bottom, height), "left": clip(left, width),
            "right": clip(right, width), "size": [int(fy.rf), int(fx_.rf)],
            "unclipped": [top, bottom, left, right]}
