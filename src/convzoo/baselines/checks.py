"""A baseline's model.npz and model.json are someone else's data: check them before scikit-learn does.

Two kinds of damage a file can do, and where each is stopped:
- Memory: `np.load` allocates what an array's header declares before reading a byte, so a 4 MB
  file can ask for gigabytes. `read_arrays` reads each header itself, requires the declared size to
  equal the member's stored size, and caps the total (MAX_BYTES) before anything is allocated.
- Native code: a decision tree's node table and an SVM's support-vector counts are read by C code
  without bounds checks, so a node's feature index of 50,000,000 is a segfault, not an exception.
  `check_estimator` checks every index such code follows (tree features and children, libsvm's
  class counts and coefficient shapes) and then makes one trial prediction, so any remaining
  mismatch (wrong shapes, feature counts, k above the training set) is a one-line BadModelFile at
  load time instead of a traceback later.
"""

from __future__ import annotations

import math
import zipfile

import numpy as np

MAX_BYTES = 2 << 30  # the largest model convzoo fits (k-NN on 60,000 x 784 float64) is 376 MB
MAX_CLASSES = 1000
MAX_JSON_BYTES = 64 * 1024 * 1024  # model.json holds structure; its arrays are in model.npz


class Refused(ValueError):
    """What is wrong with the file, one line (the caller adds the path)."""


def read_arrays(path) -> dict[str, np.ndarray]:
    """Every array of npz file `path`, each header checked against its stored size first."""
    from numpy.lib import format as npy

    arrays = {}
    with zipfile.ZipFile(path) as archive:
        members = archive.infolist()
        if sum(m.file_size for m in members) > MAX_BYTES:
            raise Refused(f"refused (its arrays hold more than {MAX_BYTES >> 20} MiB)")
        for member in members:
            if not member.filename.endswith(".npy"):
                raise Refused(f"refused (unexpected member {member.filename[:40]!r})")
            with archive.open(member) as f:
                version = npy.read_magic(f)
                if version == (1, 0):
                    shape, fortran, dtype = npy.read_array_header_1_0(f)
                elif version == (2, 0):
                    shape, fortran, dtype = npy.read_array_header_2_0(f)
                else:
                    raise Refused(f"refused (npy format {version})")
                if dtype.hasobject:
                    raise Refused("refused (Object arrays need pickle)")
                size = math.prod(shape) * dtype.itemsize
                if size != member.file_size - f.tell():
                    raise Refused(f"refused ({member.filename} declares {size:,} bytes but holds "
                                  f"{member.file_size - f.tell():,})")
                data = f.read(size)
            if len(data) != size:
                raise Refused(f"corrupt ({member.filename} is truncated)")
            arrays[member.filename[:-4]] = np.frombuffer(data, dtype).reshape(shape, order="F" if fortran else "C").copy()
    return arrays


def check_estimator(est, n_features: int | None = None) -> None:
    """Raise Refused unless `est` (as loaded) can predict on (N, n_features) inputs without reaching
    native code with an index it does not hold, and a trial prediction works."""
    from sklearn.base import BaseEstimator

    if not isinstance(est, BaseEstimator):
        raise Refused("the model is not an estimator")
    _walk(est)
    if n_features is None:
        n_features = getattr(est, "n_features_in_", None)
    if not isinstance(n_features, (int, np.integer)) or not 0 < n_features <= 1 << 20:
        raise Refused("its feature count is missing or out of range")
    classes = getattr(est, "classes_", None)
    if not isinstance(classes, np.ndarray) or classes.ndim != 1 or classes.dtype.kind not in "iu" \
            or not 1 <= len(classes) <= MAX_CLASSES or np.any(classes < 0) or np.any(classes >= MAX_CLASSES) \
            or np.any(np.diff(classes) <= 0):
        raise Refused("its classes_ are not increasing class indices")
    x = np.zeros((2, int(n_features)))
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            predicted = est.predict(x)
            scores = est.predict_proba(x) if hasattr(est, "predict_proba") else est.decision_function(x)
    except Exception as exc:  # noqa: BLE001 - any failure of the trial is the file's: scikit-learn raises many types
        raise Refused(f"it cannot predict on {n_features} features ({type(exc).__name__}: "
                      f"{str(exc).splitlines()[0][:80] if str(exc) else ''})") from None
    columns = scores.shape[1] if getattr(scores, "ndim", 0) == 2 else len(classes)
    if predicted.shape != (2,) or not np.isin(predicted, classes).all() or len(scores) != 2 or columns != len(classes):
        raise Refused("its trial prediction is not one of its classes")


def _walk(est) -> None:
    from sklearn.ensemble import AdaBoostClassifier
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.svm import SVC
    from sklearn.tree import DecisionTreeClassifier

    if getattr(est, "n_jobs", None) not in (None, 1):
        raise Refused("n_jobs other than 1 is not loaded")
    if isinstance(est, Pipeline):
        if not isinstance(est.steps, list) or not est.steps:
            raise Refused("an empty pipeline")
        for step in est.steps:
            if not (isinstance(step, tuple) and len(step) == 2):
                raise Refused("a pipeline step is not (name, estimator)")
            _walk(step[1])
    elif isinstance(est, AdaBoostClassifier):
        trees = getattr(est, "estimators_", None)
        if not isinstance(trees, list) or not trees or len(trees) > 100_000:
            raise Refused("boosting without estimators")
        for tree in trees:
            if not isinstance(tree, DecisionTreeClassifier):
                raise Refused("boosting over something other than trees")
            _walk(tree)
        weights = getattr(est, "estimator_weights_", None)
        if not isinstance(weights, np.ndarray) or weights.shape != (len(trees),) or not np.isfinite(weights).all():
            raise Refused("boosting weights that do not match its trees")
    elif isinstance(est, DecisionTreeClassifier):
        _check_tree(est)
    elif isinstance(est, SVC):
        _check_libsvm(est)
    elif isinstance(est, KNeighborsClassifier):
        fitted = getattr(est, "n_samples_fit_", 0)
        if not isinstance(est.n_neighbors, int) or not 1 <= est.n_neighbors <= fitted:
            raise Refused(f"n_neighbors={est.n_neighbors!r} is not between 1 and its {fitted:,} examples")


def _check_tree(est) -> None:
    """The node table that sklearn's C loop walks: every internal node's feature inside the input,
    both children later nodes of the table (so every walk ends at a leaf), leaves marked -1/-1."""
    from sklearn.tree._tree import Tree

    tree = getattr(est, "tree_", None)
    n_features = getattr(est, "n_features_in_", None)
    if not isinstance(tree, Tree) or not isinstance(n_features, int) or tree.n_features != n_features:
        raise Refused("a decision tree without a matching node table")
    if tree.n_outputs != 1 or not 1 <= int(tree.n_classes[0]) <= MAX_CLASSES:
        raise Refused("a decision tree with unexpected outputs or classes")
    n = tree.node_count
    if not 1 <= n <= tree.capacity:
        raise Refused(f"a decision tree claims {n} nodes")
    left, right, feature = tree.children_left, tree.children_right, tree.feature
    index = np.arange(n)
    leaf = left == -1
    if np.any(leaf != (right == -1)):
        raise Refused("a tree node has one child")
    inner = ~leaf
    if np.any((feature[inner] < 0) | (feature[inner] >= n_features)):
        raise Refused(f"a tree node reads a feature outside 0..{n_features - 1}")
    for child in (left, right):
        if np.any((child[inner] <= index[inner]) | (child[inner] >= n)):
            raise Refused(f"a tree node's child is outside the table's {n} nodes")
    if not np.isfinite(tree.threshold[inner]).all() or not np.isfinite(tree.value).all():
        raise Refused("a tree holds values that are not finite")
    if not hasattr(est, "n_classes_") or int(np.asarray(est.n_classes_)) != int(tree.n_classes[0]):
        raise Refused("a decision tree's class count disagrees with its node table")


def _check_libsvm(est) -> None:
    """What libsvm's C code indexes by: per-class support-vector counts, coefficients per class pair."""
    if est.kernel not in ("linear", "poly", "rbf", "sigmoid") or getattr(est, "_impl", None) != "c_svc" \
            or getattr(est, "_sparse", True) is not False:
        raise Refused("an SVM of a kind convzoo does not save")
    try:
        sv, counts = est.support_vectors_, est._n_support
        dual, intercept, support = est._dual_coef_, est._intercept_, est.support_
        pa, pb, classes, gamma = est._probA, est._probB, est.classes_, float(est._gamma)
    except (AttributeError, TypeError, ValueError):
        raise Refused("an SVM without its fitted arrays") from None
    arrays = (sv, counts, dual, intercept, support, pa, pb, classes)
    if not all(isinstance(a, np.ndarray) for a in arrays):
        raise Refused("an SVM without its fitted arrays")
    k = len(classes)
    pairs = k * (k - 1) // 2
    good = (sv.ndim == 2 and sv.dtype == np.float64 and counts.dtype == np.int32 and counts.shape == (k,)
            and k >= 2 and np.all(counts >= 0) and int(counts.sum()) == sv.shape[0]
            and dual.dtype == np.float64 and dual.shape == (k - 1, sv.shape[0])
            and intercept.dtype == np.float64 and intercept.shape == (pairs,)
            and support.dtype == np.int32 and support.shape == (sv.shape[0],)
            and pa.dtype == pb.dtype == np.float64 and pa.shape == pb.shape and pa.shape in ((0,), (pairs,))
            and math.isfinite(gamma) and isinstance(est.degree, int) and 0 <= est.degree <= 100)
    if not good:
        raise Refused("an SVM whose support vectors, counts and coefficients disagree")
