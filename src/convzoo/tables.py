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


def markdown_table(columns: Sequence[str], rows: Sequence[Sequence[object]], right: set[int] | None = None) -> str:
    """A Markdown table; the columns in `right` are right-aligned (`---:`)."""
    def cell(value) -> str:
        return str(value).replace("|", "\\|")

    align = "".join("---:|" if right and i in right else "---|" for i in range(len(columns)))
    lines = ["| " + " | ".join(cell(c) for c in columns) + " |", "|" + align]
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


class Grid:
    """One table inside a printed result: a header, rows of cells, the right-aligned columns."""

    def __init__(self, header: Sequence[str], rows: Sequence[Sequence[object]], right: set[int] | None = None,
                 rule: bool = False):
        self.header, self.rows, self.right, self.rule = list(header), [list(r) for r in rows], right, rule


class Table:
    """A result as it is printed: lines of text and grids, in order. One renderer, three forms: aligned
    text (the terminal), Markdown (docs, study pages) and HTML (Jupyter's `_repr_html_`)."""

    def __init__(self, *blocks: str | Grid):
        self.blocks = list(blocks)

    def text(self) -> str:
        return "\n".join(text_table(b.header, [[str(c) for c in r] for r in b.rows], b.right, b.rule)
                         if isinstance(b, Grid) else b for b in self.blocks)

    def markdown(self) -> str:
        """Grids as Markdown tables with a blank line around them, text lines as lines (a hard break
        between two, so that totals stay one per line; list items as they are)."""
        parts: list[str] = []
        for i, b in enumerate(self.blocks):
            after = self.blocks[i + 1] if i + 1 < len(self.blocks) else ""
            if isinstance(b, Grid):
                parts += [""] if parts and parts[-1] else []
                parts += [markdown_table(b.header, b.rows, b.right).rstrip("\n")]
                parts += [""] if after else []
            else:
                joined = isinstance(after, str) and after.strip() and b.strip() and not b.startswith("- ")
                parts.append(b + "  " if joined else b)
        return "\n".join(parts) + "\n"

    def html(self) -> str:
        import html

        def grid(b: Grid) -> str:
            right = b.right if b.right is not None else set()
            cell = lambda tag, i, v: (f'<{tag} style="text-align:{"right" if i in right else "left"}">'
                                      f"{html.escape(str(v))}</{tag}>")
            head = "".join(cell("th", i, h) for i, h in enumerate(b.header))
            body = "".join("<tr>" + "".join(cell("td", i, v) for i, v in enumerate(r)) + "</tr>" for r in b.rows)
            return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

        return "".join(grid(b) if isinstance(b, Grid) else f"<p>{html.escape(b)}</p>" if b.strip() else ""
                       for b in self.blocks)


class Tabular:
    """A result shown as a table (a mixin): `table()` gives its `Table`; `to_markdown()` and, in
    Jupyter, `_repr_html_()` render it. Summaries, receptive fields, comparisons, the zoo, study and
    search results all are."""

    def table(self) -> Table:
        raise NotImplementedError

    def to_markdown(self) -> str:
        return self.table().markdown()

    def __str__(self) -> str:  # print(result): the text the command prints
        return self.table().text()

    def _repr_html_(self) -> str:
        return self.table().html()
