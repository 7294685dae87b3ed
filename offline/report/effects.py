"""The effects table: every treatment arm against control, for each of the course's metrics."""

from __future__ import annotations

import math
from dataclasses import asdict

import numpy as np
import polars as pl

from offline.report.metrics import METRICS
from offline.report.stats import Sample, course_effect, cuped_with_gaps, delta_lift, holm

CUPED_COLUMNS = (
    "cuped_effect",
    "cuped_lower",
    "cuped_upper",
    "cuped_significant",
    "variance_reduction",
    "pre_coverage",
)


def cuped_effect(
    units: pl.DataFrame, control: str, treatment: str, metric: str, alpha: float
) -> dict[str, float | None]:
    """The course's effect on CUPED-adjusted values; `units` carries `pre_<metric>`.

    Units without a pre-period value (new users, or no complete session then) get the mean
    covariate, so they are left unadjusted rather than dropped. The effect stays in % of the
    unadjusted control mean. The variance reduction is that of the difference of means.
    """
    pair = units.filter(pl.col("arm").is_in([control, treatment]) & pl.col(metric).is_not_nan())
    y = pair[metric].to_numpy().astype(float)
    x = pair[f"pre_{metric}"].to_numpy().astype(float)
    known = ~np.isnan(x)
    coverage = float(known.mean()) if len(x) else math.nan
    adjusted = cuped_with_gaps(y, x)
    if adjusted is None:
        return dict.fromkeys(CUPED_COLUMNS, None) | {"pre_coverage": coverage * 100}
    in_control = (pair["arm"] == control).to_numpy()
    raw_c, raw_t = Sample.of(y[in_control]), Sample.of(y[~in_control])
    adj_c, adj_t = Sample.of(adjusted[in_control]), Sample.of(adjusted[~in_control])
    effect = course_effect(adj_c, adj_t, alpha, base=raw_c.mean)
    raw_var = raw_c.var / raw_c.n + raw_t.var / raw_t.n
    adj_var = adj_c.var / adj_c.n + adj_t.var / adj_t.n
    return {
        "cuped_effect": effect.effect,
        "cuped_lower": effect.lower,
        "cuped_upper": effect.upper,
        "cuped_significant": effect.significant,
        "variance_reduction": (1 - adj_var / raw_var) * 100 if raw_var else math.nan,
        "pre_coverage": coverage * 100,
    }


def effects_table(
    units: pl.DataFrame,
    arms: list[str],
    control: str,
    alpha: float,
    pre_units: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """One row per treatment arm and metric. `pre_units` (user and METRICS from an earlier
    period) adds the CUPED columns."""
    if pre_units is not None:
        if pre_units["user"].is_duplicated().any():
            raise ValueError("pre_units must have one row per user")
        renamed = pre_units.select("user", *[pl.col(m).alias(f"pre_{m}") for m in METRICS])
        units = units.join(renamed, on="user", how="left")
    by_arm = {
        str(key[0]): {m: part[m].to_numpy().astype(float) for m in METRICS}
        for key, part in units.partition_by("arm", as_dict=True).items()
    }
    empty = np.array([], dtype=float)
    rows = []
    for treatment in arms:
        if treatment == control:
            continue
        for metric in METRICS:
            c = Sample.of(by_arm.get(control, {}).get(metric, empty))
            t = Sample.of(by_arm.get(treatment, {}).get(metric, empty))
            effect = course_effect(c, t, alpha)
            delta_lower, delta_upper = delta_lift(c, t, alpha)
            row = {
                "treatment": treatment,
                "metric": metric,
                "n_control": c.n,
                "n_treatment": t.n,
                "control_mean": c.mean,
                "treatment_mean": t.mean,
                **asdict(effect),
                "delta_lower": delta_lower,
                "delta_upper": delta_upper,
            }
            if pre_units is not None:
                row |= cuped_effect(units, control, treatment, metric, alpha)
            rows.append(row)
    adjusted = holm([row["p_value"] for row in rows])
    for row, p_holm in zip(rows, adjusted, strict=True):
        row["p_holm"] = p_holm
        row["significant_holm"] = bool(p_holm < alpha)
    columns = [
        "treatment",
        "metric",
        "control_mean",
        "treatment_mean",
        "effect",
        "lower",
        "upper",
        "significant",
        "p_value",
        "p_holm",
        "significant_holm",
        "delta_lower",
        "delta_upper",
        "n_control",
        "n_treatment",
    ]
    if pre_units is not None:
        columns += CUPED_COLUMNS
    return pl.DataFrame(rows, infer_schema_length=None).select(columns)
