"""The classical baselines as data: name -> scikit-learn estimator factory, its options with their
defaults (the type of a default is the type of the option), and the lectures' reference figure.

The figures are LeCun et al.'s MNIST table (60,000 train / 10,000 test digits; LeCun, Bottou, Bengio,
Haffner 1998, and yann.lecun.com/exdb/mnist). convzoo measures the same methods on smaller sets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import ConvzooError, unknown_name


@dataclass(frozen=True)
class Baseline:
    name: str
    summary: str
    factory: Callable[[dict], object]  # options -> an unfitted scikit-learn estimator
    options: dict = field(default_factory=dict)  # name -> default value (its type is the option's type)
    reference: str = ""  # the lectures' published MNIST figure, with its source
    reference_error: float | None = None  # that figure, test error %
    params: dict = field(default_factory=dict)  # option -> scikit-learn parameter, where the names differ

    def param(self, option: str) -> str:
        return self.params.get(option, option)


def _linear(o):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=o["C"], max_iter=o["max_iter"])  # lbfgs: multinomial for >2 classes


def _knn(o):
    from sklearn.neighbors import KNeighborsClassifier

    return KNeighborsClassifier(n_neighbors=o["k"], weights=o["weights"], n_jobs=1)


# Above this many training examples an exact kernel SVM (libsvm: time ~ n^2 or worse, one core) takes
# far beyond 10 minutes on 2 cores; `approx=auto` then switches to the Nystroem approximation.
EXACT_SVM_LIMIT = 20_000


def _svc(kernel):
    def build(o):
        from sklearn.svm import SVC

        extra = {"degree": o["degree"], "coef0": o["coef0"]} if kernel == "poly" else {}
        if o.get("approx") == "nystroem":
            return _nystroem(o)
        return SVC(kernel=kernel, C=o["C"], gamma=o["gamma"], **extra)
    return build


def _nystroem(o):
    """The RBF kernel approximated from `components` training examples (Williams & Seeger 2001),
    then a linear SVM on those features: time linear in n instead of quadratic."""
    from sklearn.kernel_approximation import Nystroem
    from sklearn.pipeline import Pipeline
    from sklearn.svm import LinearSVC

    return Pipeline([("nystroem", Nystroem(gamma=o["gamma"], n_components=o["components"], random_state=0)),
                     ("svm", LinearSVC(C=o["C"], dual=False))])


def _pca_quadratic(o):
    from sklearn.decomposition import PCA
    from sklearn.discriminant_analysis import QuadraticDiscriminantAnalysis
    from sklearn.pipeline import Pipeline

    return Pipeline([("pca", PCA(n_components=o["components"], random_state=0)),
                     ("qda", QuadraticDiscriminantAnalysis(reg_param=o["reg_param"]))])


def _stumps(o):
    from sklearn.ensemble import AdaBoostClassifier
    from sklearn.tree import DecisionTreeClassifier

    return AdaBoostClassifier(DecisionTreeClassifier(max_depth=1), n_estimators=o["n_estimators"],
                              learning_rate=o["learning_rate"], random_state=0)


BASELINES = {b.name: b for b in [
    Baseline("linear", "multinomial logistic regression on the pixels (a linear classifier)", _linear,
             {"C": 1.0, "max_iter": 200}, "linear classifier (1-layer NN): 12.0 %, deskewed 8.4 %; pairwise 7.6 % "
             "(LeCun et al. 1998)", 7.6),
    Baseline("knn", "k-nearest neighbours, Euclidean distance", _knn, {"k": 3, "weights": "uniform"},
             "K-NN Euclidean (L2): 5.0 % (LeCun et al. 1998), 3.09 % (K. Wilder); deskewed 2.4 %", 3.09,
             {"k": "n_neighbors"}),
    Baseline("svm-rbf", "support vector machine, Gaussian (RBF) kernel: exact (libsvm) up to 20,000 training "
             "examples, else Nystroem features + a linear SVM (approx=auto)", _svc("rbf"),
             {"C": 10.0, "gamma": "scale", "approx": "auto", "components": 2000},
             "SVM Gaussian kernel: 1.4 % (LeCun et al. 1998)", 1.4),
    Baseline("svm-poly", "support vector machine, polynomial kernel (exact, libsvm)", _svc("poly"),
             {"degree": 4, "C": 10.0, "gamma": "scale", "coef0": 1.0},
             "SVM degree-4 polynomial 1.1 %; virtual SVM degree-9 polynomial 0.56 % "
             "(DeCoste & Schoelkopf 2002)", 1.1),
    Baseline("pca-quadratic", "PCA to 40 components, then a quadratic discriminant (one Gaussian per class)",
             _pca_quadratic, {"components": 40, "reg_param": 0.0},
             "40 PCA + quadratic classifier: 3.3 % (LeCun et al. 1998)", 3.3,
             {"components": "pca__n_components", "reg_param": "qda__reg_param"}),
    Baseline("stumps", "AdaBoost (SAMME) over depth-1 decision trees", _stumps,
             {"n_estimators": 200, "learning_rate": 0.5},
             "boosted stumps: 7.7 % (Kegl & Busa-Fekete 2009)", 7.7),
]}

def get_baseline(name: str) -> Baseline:
    if name not in BASELINES:
        raise unknown_name("baseline", name, list(BASELINES))
    return BASELINES[name]


def parse_value(text: str, default, key: str):
    """`text` as the type of `default` ("scale"/"auto" and numbers both allowed where the default is a
    string that sklearn also accepts as a number: gamma)."""
    if isinstance(default, bool):
        if text.lower() in ("true", "1", "yes"):
            return True
        if text.lower() in ("false", "0", "no"):
            return False
        raise ConvzooError(f"option {key} takes true or false, not {text!r}")
    kinds = (int,) if isinstance(default, int) else (float,) if isinstance(default, float) else (float, str)
    for kind in kinds:
        try:
            return kind(text)
        except ValueError:
            continue
    raise ConvzooError(f"option {key} takes {'a whole number' if kinds == (int,) else 'a number'}, not {text!r}")


def resolve_options(baseline: Baseline, given: dict) -> dict:
    """The baseline's defaults with `given` (key -> value or text) applied; unknown keys refused."""
    options = dict(baseline.options)
    for key, value in given.items():
        if key not in options:
            known = list(options)
            hint = unknown_name("option", key, known)
            raise ConvzooError(f"{baseline.name} has no option {key!r} ({str(hint).split('; ', 1)[1]})")
        options[key] = parse_value(value, options[key], key) if isinstance(value, str) else value
    if baseline.name == "svm-poly" and not 1 <= options["degree"] <= 20:
        raise ConvzooError(f"option degree must be between 1 and 20, not {options['degree']}")
    if "approx" in options and options["approx"] not in ("auto", "exact", "nystroem"):
        raise ConvzooError(f"option approx takes auto, exact or nystroem, not {options['approx']!r}")
    if "components" in options and not 10 <= options["components"] <= 20_000:
        raise ConvzooError(f"option components must be between 10 and 20000, not {options['components']}")
    return options


def parse_key_values(items: list[str], flag: str = "--option") -> dict:
    """["k=3", "weights=distance"] -> {"k": "3", "weights": "distance"}."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ConvzooError(f"{flag} takes KEY=VALUE, not {item!r}")
        out[key.strip()] = value.strip()
    return out
