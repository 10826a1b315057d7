"""scikit-learn's refusals as one line: an option out of range (`--option k=0`, `C=nan`), or options
the data cannot satisfy (k above the training examples, more PCA components than examples, one
class in the training split).

Options are checked by scikit-learn's own parameter validation before any data loads
(`check_options`, every cell of a grid included); what depends on the data is caught where the
estimator meets it (`sklearn_call`). Only errors raised inside scikit-learn (or numpy's linear
algebra under it) are turned into one line: a ValueError of convzoo's own code stays a traceback.
"""

from __future__ import annotations

import contextlib
import warnings

import numpy as np

from ..errors import ConvzooError


def check_options(baseline, options: dict, grid: dict | None = None) -> None:
    """Raise one line unless scikit-learn accepts `options` (and every value of `grid`)."""
    from sklearn.utils._param_validation import InvalidParameterError

    cells = [{}] + [{k: v} for k, values in (grid or {}).items() for v in values]
    for cell in cells:
        try:
            estimator = baseline.factory({**options, **cell})
            for step in getattr(estimator, "steps", [(None, estimator)]):
                step[1]._validate_params()
        except InvalidParameterError as exc:
            raise ConvzooError(f"{baseline.name}: {_first_line(exc)}{_named(baseline, exc)}") from None


@contextlib.contextmanager
def sklearn_call(name: str, examples: int):
    """Fit or predict inside: scikit-learn's warnings silenced (the test error says it all) and its
    refusals one line."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            yield
        except np.linalg.LinAlgError as exc:  # QDA: fewer examples in a class than PCA components
            raise ConvzooError(f"{name} cannot be fitted on these {examples:,} examples ({str(exc).split('. ')[0]}); "
                               "give more training examples, fewer components or --option reg_param=0.1") from None
        except ValueError as exc:
            if not _raised_in_sklearn(exc):
                raise
            raise ConvzooError(f"{name} cannot be fitted on these {examples:,} training examples with these "
                               f"options: {_first_line(exc)}") from None


def _raised_in_sklearn(exc: BaseException) -> bool:
    tb = exc.__traceback__
    last = None
    while tb is not None:
        last, tb = tb.tb_frame.f_code.co_filename, tb.tb_next
    return last is not None and ("/sklearn/" in last.replace("\\", "/") or "/numpy/" in last.replace("\\", "/"))


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


def _named(baseline, exc) -> str:
    options = [o for o in baseline.options if baseline.param(o) != o and f"'{baseline.param(o)}'" in str(exc)]
    return f" (option {options[0]})" if options else ""
