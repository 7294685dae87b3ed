"""Sample size, minimum detectable effect and power of the report's relative lift.

The report's lift of a metric is mean_T / mean_C - 1 with the delta-method variance
var_T / (n_T mean_C^2) + mean_T^2 var_C / (n_C mean_C^4) (offline.report.stats.delta_lift). Planning
assumes an effect that scales the metric (mean and spread alike, so the coefficient of variation
cv = sd / mean is that of the population), and equal arms of n units with a value each. The
lift's variance is then (1 + lift)^2 cv^2 (2 / n), and the two-sided test at alpha has power
Phi(|lift| / se - z_(1 - alpha / 2)) (the far tail, below 1e-6 at any useful power, is left out).

The always-valid test (offline.report.sequential) finds the lift at the end when the estimate clears
its wider half-width h(se^2): power Phi((|lift| - h) / se), a lower bound since the running
intersection over earlier looks only helps.
"""

from __future__ import annotations

import math

from scipy import special

from offline.report.sequential import half_width


def z(p: float) -> float:
    return float(special.ndtri(p))


def lift_se(cv: float, n: float, lift: float) -> float:
    """Standard error of the relative lift with n units a value per arm."""
    return (1 + lift) * cv * math.sqrt(2 / n)


def units_needed(cv: float, lift: float, alpha: float, power: float) -> float:
    """Units with a value per arm for `power` at a true relative `lift` (not 0)."""
    return 2 * ((z(1 - alpha / 2) + z(power)) * (1 + lift) * cv / lift) ** 2


def detectable_lift(cv: float, n: float, alpha: float, power: float) -> float:
    """The smallest positive relative lift detected with `power` at n units a value per arm:
    lift / (1 + lift) = k with k = (z_(1 - alpha / 2) + z_power) cv sqrt(2 / n). Infinite when
    k >= 1 (no increase, however large, is detected that often)."""
    k = (z(1 - alpha / 2) + z(power)) * cv * math.sqrt(2 / n)
    return k / (1 - k) if k < 1 else math.inf


def power_at(cv: float, n: float, lift: float, alpha: float) -> float:
    """The planned probability that the test at alpha finds a true relative `lift`."""
    return float(special.ndtr(abs(lift) / lift_se(cv, n, lift) - z(1 - alpha / 2)))


def sequential_units_needed(cv: float, lift: float, alpha: float, power: float) -> float:
    """Units with a value per arm for `power` at the end of an experiment judged by the
    always-valid test tuned to `lift` (--sequential --mde lift), by bisection."""

    def power_with(n: float) -> float:
        se = lift_se(cv, n, lift)
        return float(special.ndtr((abs(lift) - half_width(se * se, lift, alpha)) / se))

    low = high = units_needed(cv, lift, alpha, power)
    if not high > 0:  # no spread (or no mean): nothing to size
        return high
    while power_with(high) < power:
        low, high = high, high * 2
    for _ in range(60):
        middle = math.sqrt(low * high)
        low, high = (middle, high) if power_with(middle) < power else (low, middle)
    return high
