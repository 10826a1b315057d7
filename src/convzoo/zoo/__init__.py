"""The zoo: every classic family trained on Fashion-MNIST by a recipe, its weights loadable as
`zoo:NAME` (docs/zoo.md).

- rows: the table's rows as data (name, title, recipe, what differs from the paper, textbook figure);
- table: the printed table, read from the cards (never from anything but what was measured);
- publish: train a row by its recipe (resumable, per seed) and export weights, card and log;
- store: where weights and cards live, `zoo:NAME` lookup, `fetch` of the large weights, and
  `shipped_models()`, the list the demo's model picker shows.
"""

from __future__ import annotations

from .rows import ROWS, Row, get_row
from .store import fetch, read_card, shipped_models, zoo_weights

__all__ = ["ROWS", "Row", "fetch", "get_row", "read_card", "shipped_models", "zoo_weights"]
