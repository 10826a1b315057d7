"""Model selection the 2012 way: a grid (or a random sample of it) over training settings and model
options, each cell scored by stratified K-fold cross-validation on the training set only, the best
cell retrained on the whole training set and tested once (`convzoo search`)."""

from .crossval import SearchResult, search
from .grid import Cell, parse_grid

__all__ = ["Cell", "SearchResult", "parse_grid", "search"]
