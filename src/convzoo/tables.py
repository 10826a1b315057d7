"""The one way convzoo prints a table: aligned text for the terminal, or Markdown for the docs and
study pages. Imports nothing, so every layer may use it."""

from __future__ import annotations

from collections.abc import Sequence


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]], right: set[int] | None = None,
               rule: bool = False) -> str:
    """Aligned columns, two spaces apart, trailing blanks trimmed. `right`: the indices of the
    right-aligned columns (default: every column whose cells all start with a digit, i.e. numbers).
    `rule` draws a dashed line under the header."""
    columns = list(zip(header, *rows)) if rows else [(h,) for h in header]
    widths = [max(len(str(c)) for c in column) for column in columns]
    if right is None:
        right = {i for i, column in enumerate(columns) if len(column) > 1 and all(str(c)[:1].isdigit() for c in column[1:])}

    def line(cells) -> str:
        return "  ".join(str(c).rjust(w) if i in right else str(c).ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    first = line(header)
    return "\n".join([first, *(["-" * len(first)] if rule else []), *(line(r) for r in rows)])


def markdown_table(columns: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    def cell(value) -> str:
        return str(value).replace("|", "\\|")

    lines = ["| " + " | ".join(cell(c) for c in columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def human(n: float) -> str:
    """12,345,678 -> '12.3M' (lecture-style rounding, for reading; tables keep exact values)."""
    for unit, size in (("P", 1e15), ("T", 1e12), ("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= size:
            value = n / size
            return f"{value:.3g}{unit}" if value < 100 else f"{value:.0f}{unit}"
    return f"{n:g}"


def human_bytes(n: int) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"
