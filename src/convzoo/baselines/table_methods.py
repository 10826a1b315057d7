"""The classical rows of the lectures' MNIST table, each by the method its row names.

Every method takes (N, H, W) uint8 training images and labels and (M, H, W) test images, and
returns a `Fitted`: the predicted test labels, how many numbers the model stores, and the fit and
predict times. The rows (in the table's order):
- pairwise_linear: deskewed pixels, 45 one-against-one linear classifiers (logistic regression, one
  per pair of digits), the answer by vote (LeCun et al. 1998: 7.6 %);
- idm_knn: 1-NN under the image distortion model on gradient images (idm.py; Keysers et al. 2007);
- haar_stumps: AdaBoost.MH over decision stumps (boosting.py) on 1,280 Haar-like features (haar.py;
  Kegl & Busa-Fekete 2009: 0.87 %);
- pca_quadratic: 40 principal components, then one Gaussian per class (LeCun et al. 1998: 3.3 %);
- virtual_svm: deskewed pixels, a degree-9 polynomial SVM; its support vectors shifted by 1 and 2
  pixels in the 8 directions are added to them and the SVM is trained again on that set (DeCoste
  & Schoelkopf 2002: 0.56 %).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .features import deskew

JITTERS = [(dy * s, dx * s) for s in (1, 2) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx]


@dataclass
class Fitted:
    predicted: np.ndarray
    stored: int  # numbers the fitted model keeps
    fit_seconds: float
    predict_seconds: float
    details: str = ""


def _timed(fit: Callable, predict: Callable) -> tuple:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence notes: the test error says it all
        started = time.perf_counter()
        model = fit()
        middle = time.perf_counter()
        predicted = predict(model)
        return model, predicted, middle - started, time.perf_counter() - middle


def _deskewed(images: np.ndarray) -> np.ndarray:
    return deskew(images).reshape(len(images), -1) / 255.0


def pairwise_linear(x: np.ndarray, y: np.ndarray, test: np.ndarray) -> Fitted:
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsOneClassifier

    started = time.perf_counter()
    xd, td = _deskewed(x), _deskewed(test)
    deskew_seconds = time.perf_counter() - started
    model, predicted, fit_s, predict_s = _timed(
        lambda: OneVsOneClassifier(LogisticRegression(C=1.0, max_iter=500)).fit(xd, y), lambda m: m.predict(td))
    stored = sum(e.coef_.size + e.intercept_.size for e in model.estimators_)
    return Fitted(predicted, stored, fit_s + deskew_seconds, predict_s,
                  f"{len(model.estimators_)} pairwise classifiers")


def idm_knn(x: np.ndarray, y: np.ndarray, test: np.ndarray) -> Fitted:
    from .idm import idm_knn_predict

    _, predicted, fit_s, predict_s = _timed(lambda: None, lambda _: idm_knn_predict(x, y, test))
    return Fitted(predicted, x.size, fit_s, predict_s,
                  "IDM, warp +-2, 3x3 context of Sobel gradients, over the 50 Euclidean nearest")


def haar_stumps(x: np.ndarray, y: np.ndarray, test: np.ndarray, rounds: int = 300) -> Fitted:
    from .boosting import fit_stumps
    from .haar import haar_features

    started = time.perf_counter()
    hx, ht = haar_features(x), haar_features(test)
    features_seconds = time.perf_counter() - started
    model, predicted, fit_s, predict_s = _timed(lambda: fit_stumps(hx, y, rounds, int(y.max()) + 1),
                                                lambda m: m.predict(ht))
    stored = 2 * rounds + sum(v.numel() for v in model.votes)  # feature, threshold and votes per round
    return Fitted(predicted, stored, fit_s + features_seconds, predict_s,
                  f"AdaBoost.MH, {rounds} stumps on {hx.shape[1]:,} Haar features")


def pca_quadratic(x: np.ndarray, y: np.ndarray, test: np.ndarray) -> Fitted:
    from sklearn.decomposition import PCA
    from sklearn.discriminant_analysis import QuadraticDiscriminantAnalysis
    from sklearn.pipeline import Pipeline

    flat = x.reshape(len(x), -1) / 255.0
    try:
        model, predicted, fit_s, predict_s = _timed(
            lambda: Pipeline([("pca", PCA(n_components=40, random_state=0)),
                              ("qda", QuadraticDiscriminantAnalysis())]).fit(flat, y),
            lambda m: m.predict(test.reshape(len(test), -1) / 255.0))
    except np.linalg.LinAlgError as exc:  # too few examples in a class for its 40-dimensional covariance
        from ..errors import ConvzooError

        raise ConvzooError(f"pca-quadratic cannot be fitted on these {len(y):,} examples "
                           f"({str(exc).split('. ')[0]})") from None
    qda = model.named_steps["qda"]
    stored = 40 * flat.shape[1] + sum(r.size for r in qda.rotations_) + np.size(qda.means_) + np.size(qda.scalings_)
    return Fitted(predicted, int(stored), fit_s, predict_s)


def shifted(images: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """(N, H, W) images moved by (dy, dx) pixels, the background filling in."""
    out = np.zeros_like(images)
    h, w = images.shape[1:]
    out[:, max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        images[:, max(-dy, 0):h - max(dy, 0), max(-dx, 0):w - max(dx, 0)]
    return out


def virtual_svm(x: np.ndarray, y: np.ndarray, test: np.ndarray, C: float = 10.0) -> Fitted:
    from sklearn.svm import SVC

    started = time.perf_counter()
    xd, td = deskew(x), _deskewed(test)
    flat = xd.reshape(len(x), -1) / 255.0
    # gamma: 1 / the mean squared norm, so that an image's kernel with itself is about (1 + 1)^9
    gamma = 1.0 / float((flat ** 2).sum(1).mean())
    svm = lambda: SVC(kernel="poly", degree=9, gamma=gamma, coef0=1.0, C=C)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = svm().fit(flat, y)
    support = xd[first.support_]
    virtual = np.concatenate([support] + [shifted(support, dy, dx) for dy, dx in JITTERS])
    labels = np.tile(y[first.support_], len(JITTERS) + 1)
    prepare_seconds = time.perf_counter() - started
    model, predicted, fit_s, predict_s = _timed(
        lambda: svm().fit(virtual.reshape(len(virtual), -1) / 255.0, labels), lambda m: m.predict(td))
    stored = model.support_vectors_.size + model.dual_coef_.size
    return Fitted(predicted, int(stored), prepare_seconds + fit_s, predict_s,
                  f"{len(first.support_):,} support vectors x {len(JITTERS) + 1} (with their 2-pixel jitters) "
                  f"-> {len(model.support_):,}")


METHODS = {"pairwise-linear": pairwise_linear, "idm-knn": idm_knn, "haar-stumps": haar_stumps,
           "pca-quadratic": pca_quadratic, "virtual-svm": virtual_svm}
