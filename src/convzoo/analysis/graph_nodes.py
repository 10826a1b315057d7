"""The layer graph's data: nodes with shapes, parameters and multiply-adds, the graph, one forward
pass through it, and what both ways of drawing it share (a node's kind, collapsing a large graph
into blocks, the layout). Built by analysis/graph.py (torch.fx) and analysis/graph_hooks.py (hooks).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import torch
from torch import fx, nn

MAX_NODES = 200  # drawn one node per layer up to this; larger graphs collapse repeated blocks


@dataclass
class GraphNode:
    id: str
    label: str  # the module's qualified name, or the function's short name
    type: str  # module class or function name
    kind: str  # conv, dense, pool, norm, act, add, concat, input, output, block, other
    module: str | None  # qualified module name when the node is a module call
    shape: list | None  # output shape without the batch dimension
    params: int
    macs: int
    inputs: list[str] = field(default_factory=list)
    members: int = 1  # layers collapsed into this node
    rank: int = 0  # layout row (longest path from the input)
    column: float = 0.0  # layout position within the row


@dataclass
class LayerGraph:
    model: str
    input_shape: tuple[int, int, int]
    nodes: list[GraphNode]
    collapsed: bool  # True: nodes are blocks, not layers
    traced_depth: int | None  # None: traced down to torch's leaf modules
    value_of: dict[str, str] = field(default_factory=dict)  # collapsed node -> the fx node it shows
    module: fx.GraphModule | None = field(default=None, repr=False)  # the trace: run_graph runs it
    hooked: nn.Module | None = field(default=None, repr=False)  # untraceable: run_graph hooks its layers
    note: str | None = None  # why the graph is drawn as it is (a chain from hooks)

    def to_dict(self) -> dict:
        edges = [{"source": s, "target": n.id, "shape": self.by_id[s].shape} for n in self.nodes for s in n.inputs]
        return {"model": self.model, "input_shape": list(self.input_shape), "collapsed": self.collapsed,
                "traced_depth": self.traced_depth, "traced": "fx" if self.module is not None else "hooks",
                "note": self.note, "nodes": [asdict(n) for n in self.nodes], "edges": edges,
                "params": sum(n.params for n in self.nodes), "macs": sum(n.macs for n in self.nodes)}

    @property
    def by_id(self) -> dict[str, GraphNode]:
        return {n.id: n for n in self.nodes}


@dataclass
class GraphRun:  # one forward pass through a graph: each node's output and first input, the answer
    outputs: dict[str, object]  # node id (fx node name) -> its value
    inputs: dict[str, torch.Tensor]  # node id -> its first tensor input (modules' nodes)
    final: torch.Tensor  # the network's output (an auxiliary head's tuple: its main output)


def kind_of(module: nn.Module | None, name: str) -> str:
    if module is None:
        return {"add": "add", "concat": "concat"}.get(name, "other")
    if isinstance(module, nn.modules.conv._ConvNd):
        return "conv"
    if isinstance(module, nn.Linear):
        return "dense"
    if isinstance(module, (nn.modules.pooling._MaxPoolNd, nn.modules.pooling._AvgPoolNd,
                           nn.modules.pooling._AdaptiveAvgPoolNd, nn.modules.pooling._AdaptiveMaxPoolNd)):
        return "pool"
    if isinstance(module, (nn.modules.batchnorm._BatchNorm, nn.LocalResponseNorm, nn.GroupNorm, nn.LayerNorm)):
        return "norm"
    if type(module).__module__.startswith("torch.nn.modules.activation"):
        return "act"
    return "block" if any(True for _ in module.children()) else "other"


def collapse(graph: LayerGraph, stacks, fields, max_nodes: int):
    """Group nodes by their module at the deepest depth giving at most `max_nodes` groups."""
    def group_of(node: GraphNode, depth: int) -> str:
        stack = stacks.get(node.id, [])
        return stack[min(depth, len(stack)) - 1] if stack else node.id

    deepest = max((len(s) for s in stacks.values()), default=1)
    for depth in range(deepest, 0, -1):
        groups = {group_of(n, depth) for n in graph.nodes}
        if len(groups) <= max_nodes or depth == 1:
            break
    members: dict[str, list[GraphNode]] = {}
    for n in graph.nodes:
        members.setdefault(group_of(n, depth), []).append(n)
    owner = {n.id: key for key, group in members.items() for n in group}
    nodes, new_fields = [], {}
    for key, group in members.items():
        last = group[-1]
        inputs = list(dict.fromkeys(owner[s] for n in group for s in n.inputs if owner[s] != key))
        kinds = {n.kind for n in group}
        nodes.append(GraphNode(key, key if len(group) > 1 else last.label, last.type if len(group) == 1 else "block",
                               kinds.pop() if len(kinds) == 1 else "block", last.module if len(group) == 1 else key,
                               last.shape, sum(n.params for n in group), sum(n.macs for n in group), inputs,
                               len(group)))
        new_fields[key] = fields.get(last.id)
    last = {key: group[-1].id for key, group in members.items()}  # whose output a group shows
    return replace(graph, nodes=nodes, collapsed=True, value_of=last), new_fields


def layout(graph: LayerGraph) -> None:
    """Rank = longest path from the input; within a rank, order by the parents' mean position."""
    by_id = graph.by_id
    rows: dict[int, list[GraphNode]] = {}
    for n in graph.nodes:  # fx order is a topological order
        n.rank = 1 + max((by_id[s].rank for s in n.inputs), default=-1)
        rows.setdefault(n.rank, []).append(n)
    for rank in sorted(rows):
        row = rows[rank]
        row.sort(key=lambda n: sum(by_id[s].column for s in n.inputs) / len(n.inputs) if n.inputs else 0)
        for i, n in enumerate(row):
            n.column = i - (len(row) - 1) / 2
