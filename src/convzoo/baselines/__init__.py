"""Classical baselines (before and beside CNNs), built with scikit-learn: the models as a table
(table.py), the lectures' preprocessing (features.py: raw, deskew, HOG), a pickle-free saved
format (store.py), fitting, evaluation and prediction (run.py), cross-validated grid search
(crossval.py);
the lectures' error table with networks beside them (compare.py, `convzoo compare`)."""

from .crossval import SearchResult, cross_validate
from .features import FEATURES, deskew, extract, hog, skew
from .run import (
                  BaselineResult,
                  evaluate_saved,
                  fit_baseline,
                  is_baseline_dir,
                  load_baseline,
                  predict_saved,
)
from .store import BadModelFile, load_model, save_model
from .table import BASELINES, Baseline, get_baseline, parse_key_values, resolve_options

__all__ = ["BASELINES", "FEATURES", "BadModelFile", "Baseline", "BaselineResult", "SearchResult", "cross_validate",
           "deskew", "evaluate_saved", "extract", "fit_baseline", "get_baseline", "hog", "is_baseline_dir",
           "load_baseline", "load_model", "parse_key_values", "predict_saved", "resolve_options",
           "save_model", "skew"]
