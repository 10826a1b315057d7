"""Timing: the textbook loop that convzoo is measured against, a clock that pauses, and the race.

`convzoo bench race` (race.py) trains the textbook recipe and a convzoo recipe one after the other
in one process and logs test accuracy against wall clock for each. The other benchmarks' measuring
code is in convzoo.analysis.bench for now; it is planned to move here.
"""

from .race import RaceResult, Side, race
from .textbook import D2L_LENET, TextbookLoop, TextbookRecipe
from .timing import PausableClock

__all__ = ["D2L_LENET", "PausableClock", "RaceResult", "Side", "TextbookLoop", "TextbookRecipe", "race"]
