"""The lectures' complexity table (AlexNet vs LeNet), computed exactly, for any set of models.

Layers are grouped by the order of their conv and dense layers: the first conv, the second
conv, the remaining convs ("conv3-5" in AlexNet), then each dense layer; anything else with
parameters (batch norm) is "other". Every figure comes from `summarize` (the FLOP counter on
the meta device), so nothing is allocated.

The lecture's figures are kept beside the exact ones, and each difference is explained by the
closest convention that reproduces it (weights without biases, a 3-channel input, 10x the exact
value, ...), so a reader sees what the slide computed rather than just that it differs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..models import list_models
from ..tables import Grid, Table, Tabular, human
from .loading import load_model
from .summary import LayerRow, Summary, summarize

DEFAULT_MODELS = ("alexnet_small", "lenet")
LAST_LAYER_MODELS = ("lenet", "alexnet_small", "vgg16")

# The d2l AlexNet slides' "Complexity" table: (parameters, FLOP) per group. The slides' FLOP
# column counts one multiply-add as one operation (see `convention` below for each figure).
LECTURE = {
    "alexnet_small": {"conv1": ("35K", "101M"), "conv2": ("614K", "415M"), "conv3-5": ("3M", "445M"),
                      "dense1": ("26M", "26M"), "dense2": ("16M", "16M"), "total": ("46M", "1G")},
    "lenet": {"conv1": ("150", "1.2M"), "conv2": ("2.4K", "2.4M"), "dense1": ("0.48M", "0.48M"),
              "dense2": ("0.1M", "0.1M"), "total": ("0.6M", "4M")},
}
# The NiN lecture's "curse of the last layer": the first dense layer after the conv stack.
LECTURE_LAST_LAYER = {"lenet": "48K", "alexnet_small": "26M", "vgg16": "102M"}
MATCH = 0.10  # a lecture figure "matches" a convention within 10% (the slides round to 1-2 digits)


@dataclass
class Group:
    name: str
    params: int
    weights: int  # params without biases
    macs: int
    layers: list[str]


@dataclass
class ModelComplexity:
    name: str
    input_shape: tuple[int, int, int]
    groups: list[Group]
    params: int
    macs: int

    def group(self, name: str) -> Group | None:
        return next((g for g in self.groups if g.name == name), None)


def lecture_value(text: str) -> float:
    """'0.48M' -> 480000.0"""
    scale = {"K": 1e3, "M": 1e6, "G": 1e9}.get(text[-1], 1)
    return float(text[:-1] if scale != 1 else text) * scale


def _weights(model, row: LayerRow) -> int:
    module = model.get_submodule(row.name)
    named = module.named_parameters(recurse=not row.expanded)
    return sum(p.numel() for n, p in named if not n.endswith("bias"))


def group_layers(model, summary: Summary) -> list[Group]:
    """conv1, conv2, conv3-N, dense1..K, other (params outside conv/dense), total."""
    leaves = [r for r in summary.rows if not r.expanded]
    convs = [r for r in leaves if r.kind == "conv"]
    dense = [r for r in leaves if r.kind == "dense"]
    buckets: list[tuple[str, list[LayerRow]]] = [(f"conv{i + 1}", [r]) for i, r in enumerate(convs[:2])]
    if len(convs) > 2:
        buckets.append((f"conv3-{len(convs)}" if len(convs) > 3 else "conv3", convs[2:]))
    buckets += [(f"dense{i + 1}", [r]) for i, r in enumerate(dense)]
    grouped = {id(r) for _, rows in buckets for r in rows}
    other = [r for r in leaves if id(r) not in grouped and (r.params or r.macs)]
    other += [r for r in summary.rows if r.expanded and (r.params or r.macs)]  # containers' own
    if other:
        buckets.append(("other", other))
    groups = [Group(name, sum(r.params or 0 for r in rows), sum(_weights(model, r) for r in rows if r.depth),
                    sum(r.macs or 0 for r in rows), [r.name for r in rows]) for name, rows in buckets]
    groups.append(Group("total", summary.params, sum(g.weights for g in groups), summary.macs, []))
    return groups


def _split_ref(ref: str) -> tuple[str, str | None]:
    """'alexnet_small@3x224x224' -> ('alexnet_small', '3x224x224')."""
    name, _, size = ref.partition("@")
    return name, size or None


def model_complexity(ref: str) -> ModelComplexity:
    name, size = _split_ref(ref)
    loaded = load_model(name, size, weights=False, device="meta")
    summary = summarize(loaded.model, loaded.input_shape, label=loaded.label)
    return ModelComplexity(ref, loaded.input_shape, group_layers(loaded.model, summary),
                           summary.params, summary.macs)


@dataclass
class LastLayer:
    model: str
    layer: str
    in_features: int
    out_features: int
    params: int
    share: float  # of the model's parameters
    lecture: str | None


def last_layer(ref: str) -> LastLayer | None:
    """The first dense layer after the conv stack (None for a model without one)."""
    name, size = _split_ref(ref)
    loaded = load_model(name, size, weights=False, device="meta")
    summary = summarize(loaded.model, loaded.input_shape, label=loaded.label)
    leaves = [r for r in summary.rows if not r.expanded]
    last_conv = max((i for i, r in enumerate(leaves) if r.kind == "conv"), default=-1)
    row = next((r for r in leaves[last_conv + 1:] if r.kind == "dense"), None)
    if row is None:
        return None
    layer = loaded.model.get_submodule(row.name)
    return LastLayer(ref, row.name, layer.in_features, layer.out_features, row.params,
                     row.params / summary.params, LECTURE_LAST_LAYER.get(ref))


@dataclass
class LectureCheck:
    model: str
    group: str
    measure: str  # "params" or "MACs"
    lecture: str
    exact: int
    convention: str  # the closest convention that reproduces the lecture's figure
    value: float  # that convention's value


def _rgb_variant(ref: str, result: ModelComplexity) -> ModelComplexity | None:
    channels, height, width = result.input_shape
    return model_complexity(f"{_split_ref(ref)[0]}@3x{height}x{width}") if channels != 3 else None


def lecture_checks(result: ModelComplexity) -> list[LectureCheck]:
    """Each lecture figure for this model against the exact one and the convention closest to it."""
    figures = LECTURE.get(_split_ref(result.name)[0], {})
    rgb = _rgb_variant(result.name, result) if figures else None
    checks = []
    for group_name, (lecture_params, lecture_macs) in figures.items():
        group = result.group(group_name)
        if group is None:
            continue
        rgb_group = rgb.group(group_name) if rgb else None
        for measure, lecture, exact, variants in (
            ("params", lecture_params, group.params, [
                ("weights only, biases left out", group.weights),
                ("for a 3-channel (RGB) input", rgb_group.params if rgb_group else None)]),
            ("MACs", lecture_macs, group.macs, [
                ("in FLOPs (2 per multiply-add)", 2 * group.macs),
                ("for a 3-channel (RGB) input", rgb_group.macs if rgb_group else None)]),
        ):
            variants = [("exact, rounded", exact), *variants, ("10x the exact value", 10 * exact)]
            convention, value = _closest(lecture_value(lecture), variants)
            checks.append(LectureCheck(result.name, group_name, measure, lecture, exact, convention, value))
    return checks


def _closest(lecture: float, variants: list[tuple[str, float | None]]) -> tuple[str, float]:
    errors = [(abs(v / lecture - 1) if v else float("inf"), name, v or 0) for name, v in variants]
    exact_error = errors[0][0]
    best = min(errors)
    # The exact value wins unless another convention is clearly (1 point) closer.
    if exact_error <= MATCH and exact_error - best[0] < 0.01:
        return errors[0][1], errors[0][2]
    return (best[1], best[2]) if best[0] <= MATCH else ("no convention found", errors[0][2])


class Comparison(dict, Tabular):
    """`compare`'s data (a dict, as `--json` prints it) that shows as its tables."""

    def table(self) -> Table:
        return comparison_table(self)


def compare(refs: list[str]) -> Comparison:
    """Everything `convzoo complexity` prints, as data."""
    results = [model_complexity(ref) for ref in refs]
    registered = set(list_models())
    last_refs = [r for r in dict.fromkeys([*LAST_LAYER_MODELS, *refs]) if _split_ref(r)[0] in registered]
    return Comparison({
        "models": [asdict(r) for r in results],
        "lecture": [asdict(c) for r in results for c in lecture_checks(r)],
        "last_layer": [asdict(x) for x in map(last_layer, last_refs) if x is not None],
        "missing": [r for r in LAST_LAYER_MODELS if r not in registered],
        "flops_per_mac": 2,
    })


def _group_order(models: list[dict]) -> list[str]:
    names: list[str] = []
    for key in ("conv1", "conv2", "conv3", "dense", "other", "total"):
        for m in models:
            for g in m["groups"]:
                if g["name"].startswith(key) and g["name"] not in names:
                    names.append(g["name"])
    return names


def _cell(value: int | None) -> str:
    return "" if value is None else f"{value:,} ({human(value)})"


def format_comparison(data: dict) -> str:
    return comparison_table(data).text().rstrip()


def comparison_table(data: dict) -> Table:
    models = data["models"]
    lines = ["Complexity per example at each model's input: "
             + ", ".join(f"{m['name']} {'x'.join(map(str, m['input_shape']))}" for m in models),
             "MACs = multiply-adds (1 MAC = 2 FLOPs); the lecture's 'FLOP' column counts MACs.", ""]
    order = _group_order(models)
    by_name = [{g["name"]: g for g in m["groups"]} for m in models]
    for measure, key in (("parameters", "params"), ("multiply-adds (MACs)", "macs")):
        header = [measure, *(m["name"] for m in models)]
        if len(models) == 2:
            header.append(f"{models[0]['name']} / {models[1]['name']}")
        rows = []
        for group in order:
            values = [g[group][key] if group in g else None for g in by_name]
            row = [group.replace("-", "–"), *map(_cell, values)]
            if key == "macs" and group == "other":  # batch norm & co.: not counted, not zero
                row = [group, *("—" if v is not None else "" for v in values)]
            if len(models) == 2:
                row.append(f"{values[0] / values[1]:,.1f}x" if all(values) else "")
            rows.append(row)
        lines += _table(header, rows) + [""]
    if data["lecture"]:
        lines.append("Lecture figures (d2l AlexNet slides) against the exact ones:")
        rows = [[c["model"], c["group"], c["measure"], c["lecture"], f"{c['exact']:,}",
                 c["convention"] + ("" if c["convention"].startswith(("exact", "no ")) else f" = {c['value']:,.0f}")]
                for c in data["lecture"]]
        lines += _table(["model", "group", "measure", "lecture", "exact", "closest convention"], rows, {3, 4})
        lines.append("")
        lines += _ratio_lines(data)
    if data["last_layer"]:
        lines.append("The curse of the last layer: the first dense layer after the conv stack")
        rows = [[x["model"], x["layer"], f"{x['in_features']:,} -> {x['out_features']:,}", f"{x['params']:,}",
                 f"{x['share']:.0%}", x["lecture"] or ""] for x in data["last_layer"]]
        lines += _table(["model", "layer", "features", "params", "of total", "lecture"], rows, {2, 3, 4, 5})
    if data["missing"]:
        lines.append(f"(not registered, skipped: {', '.join(data['missing'])})")
    return Table(*lines)


def _ratio_lines(data: dict) -> list[str]:
    """The slides' 'increase' from AlexNet to LeNet, exact and as the slides' figures give it."""
    totals = {m["name"]: m for m in data["models"]}
    big, small = "alexnet_small", "lenet"
    if big not in totals or small not in totals:
        return []
    (lp_big, lm_big), (lp_small, lm_small) = (map(lecture_value, LECTURE[m]["total"]) for m in (big, small))
    exact_p = totals[big]["params"] / totals[small]["params"]
    exact_m = totals[big]["macs"] / totals[small]["macs"]
    line = (f"AlexNet / LeNet: {exact_p:,.0f}x the parameters and {exact_m:,.0f}x the MACs "
            f"(the lecture's totals give {lp_big / lp_small:,.0f}x and {lm_big / lm_small:,.0f}x).")
    return [line, ""]


def _table(header: list[str], rows: list[list[str]], right=None) -> list[Grid]:
    """Columns in `right` (default: all but the first) are numbers, right-aligned."""
    right = set(range(1, len(header))) if right is None else right
    return [Grid(header, rows, right, rule=True)]