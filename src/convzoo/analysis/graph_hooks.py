"""The layer graph of a model that torch.fx cannot trace, from module hooks.

A forward pass with data-dependent control flow at the top (`if x.mean() > 0: ...` in the model's
own `forward`) cannot be traced symbolically even with its blocks opaque. Such a model still runs:
forward hooks on its layers (torch's leaf modules and childless modules) record the calls of one
forward pass in order, and the graph is drawn as that chain, with a note saying so. Branches and
additions between the calls are not seen; every layer still has its shape, parameters, maps,
filters, receptive field and multiply-and-sum.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .graph_nodes import GraphNode, GraphRun, LayerGraph, collapse, kind_of
from .receptive import IDENTITY, _Tracer

CHAIN_NOTE = ("torch.fx cannot trace this model's forward ({why}); its layers are drawn as a chain "
              "in the order one forward pass calls them (module hooks), so branches and additions "
              "between them are not shown")


@dataclass
class LayerCall:
    id: str  # node id: the module's name, `_` for `.`, with `_2`, `_3` for later calls
    module: str  # qualified module name
    input: torch.Tensor | None  # its first tensor argument
    output: object


def _layers(model: nn.Module) -> dict[nn.Module, str]:
    """The modules drawn as nodes: those without children (torch's layers and custom ones)."""
    return {m: name for name, m in model.named_modules() if name and not any(True for _ in m.children())}


def record_calls(model: nn.Module, x: torch.Tensor) -> tuple[list[LayerCall], object]:
    """(each layer call of one forward pass on `x`, in order; the model's output)."""
    names = _layers(model)
    calls: list[LayerCall] = []
    seen: dict[str, int] = {}

    def hook(module, args, output):
        name = names[module]
        seen[name] = seen.get(name, 0) + 1
        node_id = name.replace(".", "_") + (f"_{seen[name]}" if seen[name] > 1 else "")
        first = next((a for a in args if isinstance(a, torch.Tensor)), None)
        calls.append(LayerCall(node_id, name, first, output))

    handles = [m.register_forward_hook(hook) for m in names]
    try:
        out = model(x)
    finally:
        for h in handles:
            h.remove()
    return calls, out


def _first_tensor(value):
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, (tuple, list)):
        return next((t for t in map(_first_tensor, value) if t is not None), None)
    return None


def chain_graph(model: nn.Module, input_shape, label: str, why: str, rows: dict, max_nodes: int):
    """(LayerGraph drawn as a chain, receptive fields by node id); `rows` are summary rows by name.
    More than `max_nodes` layers are grouped by the modules that hold them, as a traced graph is."""
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    x = torch.zeros(1, *input_shape, device=device)
    tracer = _Tracer()
    with torch.no_grad(), tracer:
        tracer.mark(x, IDENTITY)
        calls, out = record_calls(model, x)
    modules = dict(model.named_modules())
    nodes = [GraphNode("input", "input", "input", "input", None, list(input_shape), 0, 0, [])]
    fields = {"input": IDENTITY}
    for call in calls:
        value = _first_tensor(call.output)
        module = modules[call.module]
        row = rows.get(call.module)
        macs = (row.macs or 0) // max(row.calls, 1) if row is not None else 0
        params = sum(p.numel() for p in module.parameters()) if call.id == call.module.replace(".", "_") else 0
        nodes.append(GraphNode(call.id, call.module, type(module).__name__, kind_of(module, ""), call.module,
                               list(value.shape[1:]) if value is not None else None, params, macs,
                               [nodes[-1].id]))
        fields[call.id] = tracer.field(value) if value is not None and value.ndim >= 3 else None
    final = _first_tensor(out)
    nodes.append(GraphNode("output", "output", "output", "output", None,
                           list(final.shape[1:]) if final is not None else None, 0, 0, [nodes[-1].id]))
    graph = LayerGraph(label, tuple(input_shape), nodes, False, None, hooked=model, note=CHAIN_NOTE.format(why=why))
    if len(nodes) > max_nodes:
        stacks = {n.id: [n.module[:i] for i, c in enumerate(n.module + ".") if c == "."] for n in nodes if n.module}
        return collapse(graph, stacks, fields, max_nodes)
    return graph, fields


def run_chain(model: nn.Module, x: torch.Tensor):
    """A GraphRun of the hooked model: every layer call's output and input, and the answer."""
    calls, out = record_calls(model, x)
    outputs = {"input": x, **{c.id: c.output for c in calls}, "output": out}
    inputs = {c.id: c.input for c in calls if c.input is not None}
    return GraphRun(outputs, inputs, _first_tensor(out))
