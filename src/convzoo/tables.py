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
