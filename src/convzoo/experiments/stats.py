"""Mean ± sd over seeds, and whether a difference stands out from the seed-to-seed noise.

The rule, stated in every finding that uses it: with two or more seeds on each side, Welch's
t-test (scipy's `ttest_ind(equal_var=False)`, two-sided, p < 0.05) where scipy is installed (it
comes with scikit-learn), else the rule of thumb |difference| >= 2 x the pooled standard deviation.
With one seed there is no spread to compare with, and the text says so instead of guessing.
Where a study tests several pairs at once, the p-values of the family are adjusted by Holm's
step-down method (`family`), so that the chance of calling any one of them real by luck stays at
ALPHA; a verdict then quotes the adjusted p.
"""

from __future__ import annotations

import math
import statistics
import warnings
from dataclasses import asdict, dataclass

ALPHA = 0.05


@dataclass(frozen=True)
class Stat:
    mean: float
    sd: float  # sample standard deviation (n - 1); 0 for one value
    n: int

    def fmt(self, digits: int = 3, scale: float = 1.0, unit: str = "") -> str:
        """`0.912 ± 0.004` (the ± part only with two or more values)."""
        if not self.n:
            return "-"
        mean = f"{self.mean * scale:.{digits}f}{unit}"
        return mean if self.n < 2 else f"{mean} ± {self.sd * scale:.{digits}f}{unit}"

    def to_dict(self) -> dict:
        return asdict(self)


def stat(values) -> Stat:
    values = [float(v) for v in values if v is not None and math.isfinite(v)]
    if not values:
        return Stat(math.nan, math.nan, 0)
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return Stat(statistics.fmean(values), sd, len(values))


def _welch_p(a: list[float], b: list[float]) -> float | None:
    """Two-sided p-value of Welch's t-test, or None where scipy is not installed."""
    try:
        from scipy.stats import ttest_ind
    except ImportError:
        return None
    with warnings.catch_warnings():  # nearly identical seeds: scipy warns, the p-value still answers
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(ttest_ind(a, b, equal_var=False).pvalue)


@dataclass(frozen=True)
class Comparison:
    """`b` against `a` (the reference): the difference of the means and whether it is noise."""

    a: Stat
    b: Stat
    diff: float  # mean(b) - mean(a)
    pooled_sd: float
    method: str  # "welch" | "2sd" | "one seed"
    p: float | None  # Welch's p-value when that was the test
    distinct: bool | None  # None: cannot tell (one seed)
    p_holm: float | None = None  # the Holm-adjusted p-value within its family (None: tested alone)
    family: int = 1  # how many comparisons were tested together

    @property
    def verdict(self) -> str:
        """A few words for a table cell."""
        if self.distinct is None:
            return "one seed: no spread"
        if self.method == "welch":
            return f"{'real' if self.distinct else 'within noise'} ({self._p_text()})"
        return "real (>= 2 sd)" if self.distinct else "within noise (< 2 sd)"

    def _p_text(self) -> str:
        return f"p={self.p:.2g}" if self.p_holm is None else f"p={self.p:.2g}, Holm {self.p_holm:.2g}"

    def to_dict(self) -> dict:
        return {"a": self.a.to_dict(), "b": self.b.to_dict(), "diff": self.diff, "pooled_sd": self.pooled_sd,
                "method": self.method, "p": self.p, "distinct": self.distinct, "p_holm": self.p_holm,
                "family": self.family}


def compare(a_values, b_values) -> Comparison:
    """Is mean(b) - mean(a) more than seed noise? See the module docstring for the rule."""
    a_list = [float(v) for v in a_values if v is not None and math.isfinite(v)]
    b_list = [float(v) for v in b_values if v is not None and math.isfinite(v)]
    a, b = stat(a_list), stat(b_list)
    diff = b.mean - a.mean
    if a.n < 2 or b.n < 2:
        return Comparison(a, b, diff, math.nan, "one seed", None, None)
    pooled = math.sqrt(((a.n - 1) * a.sd ** 2 + (b.n - 1) * b.sd ** 2) / (a.n + b.n - 2))
    if pooled == 0:  # identical seeds on both sides: any difference is exact, none is noise
        return Comparison(a, b, diff, 0.0, "2sd", None, diff != 0)
    p = _welch_p(a_list, b_list)
    if p is not None and math.isfinite(p):
        return Comparison(a, b, diff, pooled, "welch", p, p < ALPHA)
    return Comparison(a, b, diff, pooled, "2sd", None, abs(diff) >= 2 * pooled)


def holm_adjust(pvalues: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given: sort ascending, multiply the i-th
    smallest (from 0) by m - i, carry the running maximum so the order is kept, cap at 1."""
    m = len(pvalues)
    adjusted = [1.0] * m
    running = 0.0
    for rank, index in enumerate(sorted(range(m), key=lambda i: pvalues[i])):
        running = max(running, min(1.0, (m - rank) * pvalues[index]))
        adjusted[index] = running
    return adjusted


def holm(comparisons: list[Comparison]) -> list[Comparison]:
    """The comparisons with Holm-adjusted p-values over those tested by Welch's test (the others
    keep their verdicts: the 2-sd rule has no p-value to adjust), each re-decided at ALPHA."""
    from dataclasses import replace

    tested = [i for i, c in enumerate(comparisons) if c.method == "welch" and c.p is not None]
    if len(tested) < 2:
        return list(comparisons)
    adjusted = holm_adjust([comparisons[i].p for i in tested])
    out = list(comparisons)
    for i, p in zip(tested, adjusted):
        out[i] = replace(comparisons[i], p_holm=p, family=len(tested), distinct=p < ALPHA)
    return out


def family(pairs: dict) -> dict:
    """{name: (a_values, b_values)} -> {name: Comparison}, compared and Holm-adjusted together: the
    way a study tests several pairs."""
    names = list(pairs)
    return dict(zip(names, holm([compare(*pairs[n]) for n in names])))


def rule_text(comparisons) -> str:
    """One sentence naming the rule the comparisons used."""
    methods = {c.method for c in comparisons}
    if methods <= {"one seed"}:
        return ("One seed per run: there is no spread to compare with, so no difference here can be "
                "told apart from seed noise; run with --seeds 3 or more.")
    parts = []
    if "welch" in methods:
        parts.append(f"Welch's t-test over the seeds (two-sided, p < {ALPHA} counts as a real difference)")
        families = {c.family for c in comparisons if c.p_holm is not None}
        if families:
            parts.append(f"the {max(families)} p-values tested together are Holm-adjusted (step-down), and the "
                         "adjusted p decides")
    if "2sd" in methods:
        parts.append("|difference| >= 2 x the pooled standard deviation counts as real")
    return "Noise rule: " + "; ".join(parts) + "."


def describe(comparison: Comparison, what: str, scale: float = 100.0, unit: str = " points") -> str:
    """`3.1 points (real, p=0.01)` / `0.4 points, within the noise (p=0.6)`."""
    amount = f"{comparison.diff * scale:+.1f}{unit}".strip()
    what = f"{what} " if what else ""
    if comparison.distinct is None:
        return f"{what}{amount} (one seed: cannot tell from noise)"
    if comparison.method == "welch":
        tag = comparison._p_text()
    else:
        tag = f"pooled sd {comparison.pooled_sd * scale:.1f}{unit}"
    return f"{what}{amount} ({'real' if comparison.distinct else 'within the noise'}, {tag})"
