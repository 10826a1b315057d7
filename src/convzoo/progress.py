"""The one progress bar: tqdm.auto's, a widget in Jupyter and text in a terminal. A notebook
without ipywidgets gets the text bar without tqdm's warning about it (printed into the cell of
whatever first imported convzoo's trainer)."""

import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from tqdm.auto import tqdm

__all__ = ["tqdm"]
