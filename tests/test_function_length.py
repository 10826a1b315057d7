"""The house's rule on length: no function in src/convzoo over 50 lines
(end_lineno - lineno + 1, decorators not counted, docstring counted) unless a comment saying
"long because ..." sits in the 3 lines above its `def` (or its decorators) or in the first 3 lines
of its body (after the docstring). The test reads the source; it imports nothing of convzoo."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "convzoo"
MAX_LINES = 50
REASON = "long because"

# Functions allowed over the limit while a parallel branch splits them (empty when none is); an
# entry that no longer names a long function fails the test too, so the set cannot go stale.
BEING_SPLIT: set[tuple[str, str]] = set()


def _says_why(lines: list[str], node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """A '# ... long because ...' comment just above the def (or its decorators) or at the top of its body."""
    top = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    body = node.body
    has_docstring = ast.get_docstring(node) is not None
    start = body[0].end_lineno if has_docstring else node.lineno  # the body's lines after this (1-based) one
    code = body[1] if has_docstring and len(body) > 1 else body[0]
    window = lines[max(top - 4, 0):top - 1] + lines[start:max(code.lineno + 2, start + 3)]
    return any("#" in line and REASON in line.split("#", 1)[1].lower() for line in window)


def long_functions(source: str) -> list[tuple[str, int, int]]:
    """(name, line, length) of every function (methods and nested ones too) over MAX_LINES lines
    that no comment explains."""
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1
            if length > MAX_LINES and not _says_why(lines, node):
                found.append((node.name, node.lineno, length))
    return found


def test_no_function_is_over_50_lines_without_saying_why():
    offenders, allowed = [], set()
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        for name, line, length in long_functions(path.read_text()):
            if (relative, name) in BEING_SPLIT:
                allowed.add((relative, name))
            else:
                offenders.append(f"src/convzoo/{relative}:{line} {name}: {length} lines")
    assert not offenders, ("split these (or add a '# long because ...' comment that says why):\n"
                           + "\n".join(offenders))
    assert allowed == BEING_SPLIT, f"no longer long, remove from BEING_SPLIT: {sorted(BEING_SPLIT - allowed)}"


def _function(lines_in_body: int, comment_above: str = "", comment_in_body: str = "", docstring: bool = True) -> str:
    head = [comment_above, "@decorator", "def f():"] if comment_above else ["@decorator", "def f():"]
    body = (['    """Docstring."""'] if docstring else []) + ([f"    {comment_in_body}"] if comment_in_body else [])
    body += ["    x = 1"] * (lines_in_body - len(body))
    return "\n".join(["import os", *head, *body]) + "\n"


def test_the_rule_counts_lines_and_reads_the_reason():
    assert long_functions(_function(49)) == []  # def + 49 body lines = 50: allowed
    assert long_functions(_function(50)) == [("f", 3, 51)]
    assert long_functions(_function(50, docstring=False)) == [("f", 3, 51)]
    assert long_functions(_function(50, comment_above="# long because it is a table")) == []
    assert long_functions(_function(50, comment_in_body="# Long because it is a table")) == []
    assert long_functions(_function(50, comment_in_body="# Long because", docstring=False)) == []
    assert long_functions(_function(50, comment_above="# this is long")) == [("f", 4, 51)]
    assert long_functions(_function(50, comment_above='x = "long because"  # a string, not a reason')) != []
