"""The one printer of every command: a command builds its result and returns it; `show` prints it
as text (for a person) or as JSON (`--json`, for a script), and the JSON holds every number and note
the text shows (tests/test_output.py checks it).

A result is a `Result` (the JSON data beside the text, a `convzoo.tables.Table` or plain lines), or
any library object with `to_dict()` and a text form (`Tabular`'s `table()`, else `str()`).
Progress lines and notes about the command itself (not its result) go to stderr where they happen.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..tables import Grid, Table


@dataclass
class Result:
    """What a command found. `data`: the JSON (a dict or a list); `text`: the same as a person reads
    it, lines and grids in order; `code`: the exit status; `indent`: how the JSON is laid out (None:
    one line, which scripts that read a line at a time rely on)."""
    data: Any
    text: list[str | Grid] = field(default_factory=list)
    code: int = 0
    indent: int | None = None

    def to_dict(self) -> Any:
        return self.data

    def table(self) -> Table:
        return Table(*self.text)


def show(result, as_json: bool = False) -> int:
    """Print `result` as JSON or as text; the exit status is the result's `code` (0 without one)."""
    if as_json:
        print(json.dumps(result.to_dict(), indent=getattr(result, "indent", None)), flush=True)
    else:
        text = result.table().text() if hasattr(result, "table") else str(result)
        if text:  # nothing to say (every file of `predict` failed, each named on stderr): no blank line
            print(text, flush=True)
    return int(getattr(result, "code", 0) or 0)

