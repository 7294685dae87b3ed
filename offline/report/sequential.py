"""Always-valid inference on the report's relative lift: a normal-mixture sequential test.

At each look the delta-method estimate of the lift (offline.report.stats.lift_variance) is
treated as normal with variance V, shrinking as users accrue. Against a N(0, tau^2) mixture of
alternatives, the likelihood ratio of "lift = theta" is

    L(theta) = sqrt(V / (V + tau^2)) exp(tau^2 (estimate - theta)^2 / (2 V (V + tau^2)))

and the mixture SPRT (Johari et al., "Always valid inference", 2017; Howard et al.'s
normal-mixture boundary, 2021) rejects theta once L(theta) >= 1 / alpha. Under the null, L is
a martingale, so by Ville's inequality the chance that it ever crosses 1 / alpha is at most
alpha, however often and whenever one looks (asymptotically: V is estimated, and the estimate is
normal only once each arm has enough users). The always-valid p-value is min(1, 1 / L(0)) and
the confidence sequence is every theta not rejected:

    estimate +- sqrt(V (V + tau^2) / tau^2 (log((V + tau^2) / V) + 2 log(1 / alpha))).

Over several looks, the p-value is the running minimum and the interval the running
intersection: both stay valid. tau is the relative effect the test is tuned to: with tau set to
the planned MDE the interval is near its narrowest at the planned size (the width is smallest
when tau^2 is about 8 V, and at 80% power V is (MDE / 2.8)^2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class AlwaysValid:
    lower: float  # relative lift, as a fraction
    upper: float
    p_value: float

    @property
    def significant(self) -> bool:
        return self.lower > 0 or self.upper < 0


NOTHING = AlwaysValid(-math.inf, math.inf, 1.0)


def half_width(var: float, tau: float, alpha: float) -> float:
    """Half the confidence sequence's width at a look where the estimate's variance is var."""
    tau2 = tau * tau
    return math.sqrt(
        var * (var + tau2) / tau2 * (math.log((var + tau2) / var) - 2 * math.log(alpha))
    )


def always_valid(estimate: float, var: float, tau: float, alpha: float) -> AlwaysValid:
    """The confidence sequence and p-value at one look; no information (NaN) gives nothing."""
    if not (math.isfinite(estimate) and math.isfinite(var) and var > 0):
        return NOTHING
    tau2 = tau * tau
    log_ratio = 0.5 * math.log(var / (var + tau2)) + tau2 * estimate**2 / (2 * var * (var + tau2))
    p_value = math.exp(-log_ratio) if log_ratio > 0 else 1.0
    half = half_width(var, tau, alpha)
    return AlwaysValid(estimate - half, estimate + half, p_value)


def running(previous: AlwaysValid, current: AlwaysValid) -> AlwaysValid:
    """Intersect the interval and take the smaller p-value: valid over all the looks so far."""
    return AlwaysValid(
        max(previous.lower, current.lower),
        min(previous.upper, current.upper),
        min(previous.p_value, current.p_value),
    )
