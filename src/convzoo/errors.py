"""User-facing errors.

Anything a user can get wrong (a name, a file, a flag) raises ``ConvzooError`` with a one-line
message. The CLI prints it as ``convzoo: error: <message>`` and exits non-zero; bugs stay
tracebacks so they are not mistaken for user mistakes.
"""

from __future__ import annotations

import difflib


class ConvzooError(Exception):
    """A mistake the user can fix; the message says what and, where possible, how."""


class DataError(ConvzooError):
    """A missing, corrupt or mismatched data file."""


class WriteError(ConvzooError, OSError):
    """A file that cannot be written ("cannot write PATH (why)"); an OSError too, so code that
    already handles a failed write (a cache that is only nice to have) keeps doing so."""


def unknown_name(kind: str, name: str, known: list[str]) -> ConvzooError:
    """An error for an unknown name, with close-match suggestions."""
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(sorted(known))}"
    if len(known) > 15 and not close:
        hint = f"; see `convzoo {kind}s` for the list" if kind == "model" else hint
    return ConvzooError(f"unknown {kind} {name!r}{hint}")
