"""The house's layering (docs/architecture.md): imports point only downwards, and no files import
each other in a circle. Every import counts, function-level ones included (they hide an edge, they
do not remove it). The test reads the source; it imports nothing of convzoo."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "convzoo"

# Bottom to top. A package may import its own modules and those of a lower layer; never a
# package of its own layer or above. The entry points (`convzoo/__init__.py`'s lazy names and
# `__main__`) stand outside the layers.
LAYERS = [
    {"errors"},
    {"atomic"},  # writing atomically, reading JSON caches
    {"tables", "timing", "figures", "progress", "children", "inside"},  # the base utilities: imported by all
    {"reference"},  # NumPy only
    {"data"},
    {"layers"},
    {"models"},
    {"train"},
    {"export"},
    {"infer"},
    {"bench"},
    {"analysis"},
    {"experiments"},  # what studies, search and compare share: stats, runs, processes, figures
    {"studies", "selection", "baselines", "apps", "zoo"},
    {"serve"},
    {"cli"},
]
LEVEL = {package: level for level, packages in enumerate(LAYERS) for package in packages}
OUTSIDE = {"__init__", "__main__"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> list[tuple[str, int]]:
    """(convzoo module, line) for every import in the file, relative ones resolved."""
    name = module_name(path)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            if node.module is None or node.level and not node.module:
                found += [(f"{target}.{alias.name}", node.lineno) for alias in node.names]
            else:
                found.append((target, node.lineno))
        elif isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
    return [(t, line) for t, line in found if t == "convzoo" or t.startswith("convzoo.")]


def top_package(module: str) -> str:
    """`convzoo.train.trainer` -> "train"; a name of the top package (`convzoo.__version__`) -> "__init__"."""
    parts = module.split(".")
    if len(parts) < 2 or not ((PACKAGE / parts[1]).is_dir() or (PACKAGE / f"{parts[1]}.py").is_file()):
        return "__init__"
    return parts[1]


def files():
    return sorted(PACKAGE.rglob("*.py"))


def test_every_package_has_a_layer():
    packages = {top_package(module_name(f)) for f in files()} - OUTSIDE
    assert packages - set(LEVEL) == set(), "a new package needs its place in LAYERS and docs/architecture.md"


def test_imports_point_only_downwards():
    upward = []
    for path in files():
        source = top_package(module_name(path))
        if source in OUTSIDE:
            continue
        for target, line in imported_modules(path):
            goes_to = top_package(target)
            if goes_to != source and goes_to not in OUTSIDE and LEVEL[goes_to] >= LEVEL[source]:
                upward.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {target}")
    assert upward == []


def existing_module(name: str, known: set[str]) -> str | None:
    """`convzoo.x.y.NAME` may name a module or a name inside `convzoo.x.y`."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def test_no_files_import_each_other_in_a_circle():
    modules = {module_name(f): f for f in files()}
    graph = {name: set() for name in modules}
    for name, path in modules.items():
        for target, _ in imported_modules(path):
            found = existing_module(target, set(modules))
            # A package's __init__ hands names on; a module importing its own package's face is no circle.
            if found and found != name and not name.startswith(found + "."):
                graph[name].add(found)
    circles = []
    state: dict[str, int] = {}

    def visit(node, trail):
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                circles.append(" -> ".join(trail[trail.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert circles == []
