"""A fitted baseline on disk without pickle: `model.json` (structure) + `model.npz` (arrays).

Why not pickle: a baseline directory is loaded like a checkpoint (`convzoo eval`, `convzoo predict`),
and unpickling runs whatever code the file names. Why not skops: it is one more dependency and its
loader still needs a trusted-types list; the six baselines need only a handful of scikit-learn
classes, so convzoo writes their fitted state itself:

- An estimator is {"__estimator__": "module.Class", "params": get_params(deep=False), "state": its
  fitted attributes}. Loading builds the class from TRUSTED (nothing else is ever imported),
  calls it with the params and sets the attributes back, so the loaded estimator predicts exactly as
  the fitted one did (same arrays, same code path).
- Arrays go to model.npz, read with `np.load(allow_pickle=False)`: an object array (pickled Python
  objects) is refused, as is any type name not in TRUSTED.
- Two objects are not plain attributes: k-NN's search tree is rebuilt by `fit` on the saved
  training arrays (k-NN's whole "model" is those arrays), and a decision tree's Cython `Tree` is
  rebuilt from its node table (a structured array) with `Tree.__setstate__`.
- Values are JSON scalars, lists, tuples {"__tuple__"}, dicts {"__dict__"}, numpy dtypes
  {"__dtype__"} and arrays {"__array__": key}.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np

from ..atomic import atomic_path, write_json
from ..errors import ConvzooError
from .checks import MAX_CLASSES, MAX_JSON_BYTES, Refused, check_estimator, read_arrays

FORMAT = "convzoo-baseline-model/1"


def _trusted() -> dict:
    from sklearn.decomposition import PCA
    from sklearn.discriminant_analysis import QuadraticDiscriminantAnalysis
    from sklearn.ensemble import AdaBoostClassifier
    from sklearn.kernel_approximation import Nystroem
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.svm import SVC, LinearSVC
    from sklearn.tree import DecisionTreeClassifier

    classes = [PCA, QuadraticDiscriminantAnalysis, AdaBoostClassifier, LogisticRegression,
               KNeighborsClassifier, Pipeline, SVC, DecisionTreeClassifier, Nystroem, LinearSVC]
    return {f"{c.__module__}.{c.__name__}": c for c in classes}


class BadModelFile(ConvzooError):
    """A model file that is corrupt, not convzoo's, or names a type convzoo does not load."""


class _Encoder:
    def __init__(self):
        self.arrays: dict[str, np.ndarray] = {}

    def array(self, value: np.ndarray) -> dict:
        if value.dtype.hasobject:
            raise TypeError("object arrays are not saved (they would need pickle)")
        key = f"a{len(self.arrays)}"
        self.arrays[key] = value
        return {"__array__": key}

    def __call__(self, value):
        from sklearn.base import BaseEstimator
        from sklearn.tree._tree import Tree

        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, np.ndarray):
            return self.array(value)
        if isinstance(value, np.dtype):
            return {"__dtype__": value.str}
        if isinstance(value, tuple):
            return {"__tuple__": [self(v) for v in value]}
        if isinstance(value, list):
            return [self(v) for v in value]
        if isinstance(value, dict):
            return {"__dict__": {str(k): self(v) for k, v in value.items()}}
        if isinstance(value, Tree):
            state = value.__getstate__()
            return {"__tree__": {"n_features": value.n_features, "n_classes": self.array(np.asarray(value.n_classes)),
                                 "n_outputs": value.n_outputs, "state": self(state)}}
        if isinstance(value, BaseEstimator):
            return self.estimator(value)
        raise TypeError(f"cannot save a {type(value).__name__} without pickle")

    def estimator(self, est) -> dict:
        from sklearn.neighbors import KNeighborsClassifier

        name = f"{type(est).__module__}.{type(est).__name__}"
        if name not in _trusted():
            raise TypeError(f"{name} is not a type convzoo saves")
        params = est.get_params(deep=False)
        if isinstance(est, KNeighborsClassifier):
            fitted = hasattr(est, "_fit_X")
            refit = [self(est._fit_X), self(est.classes_[est._y])] if fitted else None
            return {"__estimator__": name, "params": self(params), "refit": refit}
        state = {k: v for k, v in vars(est).items() if k not in params}
        return {"__estimator__": name, "params": self(params), "state": self(state)}


class _Decoder:
    def __init__(self, arrays):
        self.arrays = arrays
        self.trusted = _trusted()

    def __call__(self, value):
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, list):
            return [self(v) for v in value]
        if not isinstance(value, dict) or len(value) not in (1, 2, 3):
            raise BadModelFile(f"unexpected value in the model file: {str(value)[:60]}")
        if "__array__" in value:
            key = value["__array__"]
            if key not in self.arrays:
                raise BadModelFile(f"the model file names array {key!r}, which model.npz lacks")
            return self.arrays[key]
        if "__dtype__" in value:
            return np.dtype(str(value["__dtype__"]))
        if "__tuple__" in value:
            return tuple(self(v) for v in value["__tuple__"])
        if "__dict__" in value:
            return {k: self(v) for k, v in value["__dict__"].items()}
        if "__tree__" in value:
            from sklearn.tree._tree import Tree

            t = value["__tree__"]
            n_classes = np.asarray(self(t["n_classes"]))
            # Tree's constructor copies n_outputs entries of n_classes in C: check them first
            if int(t["n_outputs"]) != 1 or n_classes.shape != (1,) or not 0 < int(t["n_features"]) <= 1 << 20 \
                    or not 0 < int(n_classes[0]) <= MAX_CLASSES:
                raise BadModelFile("the model file holds a decision tree of unexpected size")
            tree = Tree(int(t["n_features"]), np.asarray(self(t["n_classes"]), dtype=np.intp), int(t["n_outputs"]))
            tree.__setstate__(self(t["state"]))
            return tree
        if "__estimator__" in value:
            return self.estimator(value)
        raise BadModelFile(f"unknown entry {min(value)!r} in the model file")

    def estimator(self, value):
        name = value["__estimator__"]
        if name not in self.trusted:
            raise BadModelFile(f"the model file names type {name!r}, which convzoo does not load")
        est = self.trusted[name](**self(value["params"]))
        if "refit" in value:
            if value["refit"] is not None:
                est.fit(*self(value["refit"]))
            return est
        for k, v in self(value.get("state", {})).items():
            setattr(est, k, v)
        return est


def stored_numbers(estimator) -> int:
    """How many numbers the fitted model keeps (every array it would save): the classical models'
    "parameters" (k-NN's are its training set; an SVM's its support vectors and their weights)."""
    encoder = _Encoder()
    encoder(estimator)
    return int(sum(a.size for a in encoder.arrays.values() if a.dtype.kind in "fiub"))


def save_model(estimator, folder: str | Path) -> None:
    """Write `estimator` as folder/model.json + folder/model.npz (atomically, each)."""
    folder = Path(folder)
    encoder = _Encoder()
    try:
        tree = encoder(estimator)
    except TypeError as exc:
        raise ConvzooError(f"cannot save this baseline safely: {exc}") from None
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **encoder.arrays)
    with atomic_path(folder / "model.npz") as tmp:
        tmp.write_bytes(buffer.getvalue())
    write_json(folder / "model.json", {"format": FORMAT, "model": tree})


def load_model(folder: str | Path, n_features: int | None = None):
    """The estimator saved in `folder`, checked (checks.py) to predict on `n_features` inputs; a
    corrupt, foreign or inconsistent file is a one-line BadModelFile, and nothing in it is ever
    unpickled."""
    folder = Path(folder)
    try:
        if (folder / "model.json").stat().st_size > MAX_JSON_BYTES:
            raise BadModelFile(f"{folder / 'model.json'}: refused (over {MAX_JSON_BYTES >> 20} MiB)")
        meta = json.loads((folder / "model.json").read_text())
    except FileNotFoundError:
        raise BadModelFile(f"{folder}: no model.json (not a convzoo baseline)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise BadModelFile(f"{folder / 'model.json'}: not readable JSON ({type(exc).__name__})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise BadModelFile(f"{folder / 'model.json'}: not a {FORMAT} file")
    if (folder / "model.npz").is_file() and not zipfile.is_zipfile(folder / "model.npz"):
        raise BadModelFile(f"{folder / 'model.npz'}: corrupt (not an npz archive)")
    try:
        arrays = read_arrays(folder / "model.npz")
    except FileNotFoundError:
        raise BadModelFile(f"{folder}: no model.npz") from None
    except Refused as exc:
        raise BadModelFile(f"{folder / 'model.npz'}: {exc}") from None
    except (ValueError, OSError, zipfile.BadZipFile, EOFError, NotImplementedError) as exc:
        raise BadModelFile(f"{folder / 'model.npz'}: corrupt ({type(exc).__name__})") from None
    try:
        estimator = _Decoder(arrays)(meta["model"])
        check_estimator(estimator, n_features)
    except BadModelFile:
        raise
    except Refused as exc:
        raise BadModelFile(f"{folder}: not a usable baseline model: {exc}") from None
    except (KeyError, TypeError, ValueError, OverflowError, RecursionError, MemoryError) as exc:
        raise BadModelFile(f"{folder / 'model.json'}: does not describe a model ({type(exc).__name__}: "
                           f"{str(exc)[:80]})") from None
    return estimator
