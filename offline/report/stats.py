"""The statistics of the report, on user-level values.

- `course_effect`: the course's notebook, operation for operation: Welch's t interval for
  mean_T - mean_C with Welch-Satterthwaite degrees of freedom, at level 1 - alpha, both the
  difference and its half-width divided by the control mean (x100); significant when the interval
  excludes 0. Its two-sided p-value (the same t statistic and degrees of freedom, so p < alpha
  exactly when significant) feeds the Holm correction.
- `delta_lift`: the interval of the relative lift mean_T / mean_C - 1 by the delta method, which
  also accounts for the uncertainty of the control mean (the course's divides by it as if known).
- `srm`: Pearson's chi-square of users per arm against the configured split.
- `holm`: Holm's step-down adjusted p-values.
- `cuped_adjust`: CUPED with a pre-period covariate.

scipy.special gives the same t quantiles as scipy.stats.t (which calls it) without the second
that importing scipy.stats costs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import special


@dataclass(frozen=True)
class Sample:
    n: int
    mean: float
    var: float  # unbiased (ddof=1), as pandas' var

    @classmethod
    def of(cls, values: np.ndarray) -> Sample:
        """Summary of the values that are not NaN (the course's pandas aggregates skip NaN)."""
        values = values[~np.isnan(values)]
        n = len(values)
        mean = float(values.mean()) if n else math.nan
        var = float(values.var(ddof=1)) if n > 1 else math.nan
        return cls(n, mean, var)


@dataclass(frozen=True)
class Effect:
    effect: float  # % of the control mean
    lower: float
    upper: float
    significant: bool
    p_value: float


def welch_dof(control: Sample, treatment: Sample) -> float:
    s2_0, s2_1, n_0, n_1 = control.var, treatment.var, control.n, treatment.n
    numerator = (s2_0 / n_0 + s2_1 / n_1) * (s2_0 / n_0 + s2_1 / n_1)
    denominator = s2_0 * s2_0 / n_0 / n_0 / (n_0 - 1) + s2_1 * s2_1 / n_1 / n_1 / (n_1 - 1)
    return numerator / denominator if denominator else math.nan


def course_effect(
    control: Sample, treatment: Sample, alpha: float, base: float | None = None
) -> Effect:
    """The course's effect in % of `base` (the control mean unless given)."""
    base = control.mean if base is None else base
    if control.n < 2 or treatment.n < 2 or not base:  # no spread, or % of nothing
        return Effect(math.nan, math.nan, math.nan, False, math.nan)
    dof = welch_dof(control, treatment)
    se = math.sqrt(control.var / control.n + treatment.var / treatment.n)
    conf_int = float(special.stdtrit(dof, 1 - alpha / 2)) * se if dof == dof else math.nan
    effect = treatment.mean - control.mean
    p_value = float(2 * special.stdtr(dof, -abs(effect) / se)) if se and dof == dof else math.nan
    return Effect(
        effect=effect / base * 100,
        lower=(effect - conf_int) / base * 100,
        upper=(effect + conf_int) / base * 100,
        significant=bool((effect + conf_int) * (effect - conf_int) > 0),
        p_value=p_value,
    )


def lift_variance(control: Sample, treatment: Sample) -> tuple[float, float]:
    """mean_T / mean_C - 1 and its delta-method variance; NaN without spread or control mean."""
    if control.n < 2 or treatment.n < 2 or not control.mean:
        return math.nan, math.nan
    var = treatment.var / treatment.n / control.mean**2 + (
        treatment.mean**2 * control.var / control.n / control.mean**4
    )
    return treatment.mean / control.mean - 1, var


def delta_lift(control: Sample, treatment: Sample, alpha: float) -> tuple[float, float]:
    """Bounds (in %) of the 1 - alpha interval of mean_T / mean_C - 1 by the delta method."""
    lift, var = lift_variance(control, treatment)
    half = float(special.ndtri(1 - alpha / 2)) * math.sqrt(var)
    return (lift - half) * 100, (lift + half) * 100


def srm(observed: Sequence[int], weights: Sequence[float]) -> tuple[float, float]:
    """Chi-square statistic and p-value of the observed counts per arm against the split."""
    observed_array = np.asarray(observed, dtype=float)
    share = np.asarray(weights, dtype=float) / float(np.sum(weights))
    expected = observed_array.sum() * share
    if len(observed_array) < 2 or not observed_array.sum():
        return math.nan, math.nan
    chi2 = float(np.sum((observed_array - expected) ** 2 / expected))
    return chi2, float(special.chdtrc(len(observed_array) - 1, chi2))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's adjusted p-values; NaN (no test) stays NaN and does not count in the family."""
    tested = sorted((p, i) for i, p in enumerate(p_values) if p == p)
    adjusted = [math.nan] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(tested):
        running = max(running, min(1.0, (len(tested) - rank) * p))
        adjusted[i] = running
    return adjusted


def cuped_adjust(y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, float]:
    """y - theta (x - mean x), theta = cov(x, y) / var(x) over all units given (both arms
    pooled, so the adjustment is the same function for every arm)."""
    x_var = float(np.var(x, ddof=1)) if len(x) > 1 else 0.0
    if not x_var:
        return y, 0.0
    theta = float(np.cov(x, y, ddof=1)[0, 1]) / x_var
    return y - theta * (x - x.mean()), theta


def cuped_with_gaps(y: np.ndarray, x: np.ndarray) -> np.ndarray | None:
    """cuped_adjust where a unit without a pre-period value (NaN in x) gets the mean covariate,
    so it is left unadjusted rather than dropped; None when fewer than 2 units have one."""
    known = ~np.isnan(x)
    if known.sum() < 2:
        return None
    return cuped_adjust(y, np.where(known, x, x[known].mean()))[0]
