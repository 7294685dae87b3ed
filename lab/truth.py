"""The A/B's verdict against the truth, per day of `botify experiment --days N --truth`.

- bias: the A/B's estimate (botify ab's effect on mean_time_per_session, % of C) less the true
  effect (lab.counterfactual: the same users in the world where everyone is on T1 against the
  world where everyone is on C). Its interval adds the two variances: the estimate and the truth
  come from the same users, and their errors are positively correlated (a user who listens long
  does so in every world), so the interval is conservative;
- covers: whether the A/B's own 95% interval holds the true effect;
- the A/A inside the learned arm: the day's A/A split (AA<d>) of LOOP's T1 users only, both
  halves served T1's chain on the same files. Under pooled training it is as clean as any A/A
  while the A/B beside it is biased: a clean A/A checks the split, not the training.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import polars as pl

from lab.counterfactual import TrueEffect, Z
from offline.report.ab import load
from offline.report.assignment import assign
from offline.report.effects import effects_table
from offline.report.metrics import FAMILIES, unit_metrics

METRIC = "mean_time_per_session"
ALPHA = 0.05


def against_truth(row: dict, truth: TrueEffect) -> dict:
    """The day's truth columns, beside the A/B's row (effect and interval, % of C)."""
    low, high = row["interval"]
    ab_se = (high - low) / 2 / Z
    truth_se = truth.half_width / Z
    bias = row["effect"] - truth.effect
    half = Z * math.sqrt(ab_se**2 + truth_se**2)
    return {
        "true_effect": truth.effect,
        "true_interval": (truth.lower, truth.upper),
        "true_users": truth.users,
        "true_C": truth.C,
        "true_T1": truth.T1,
        "true_C_sim": truth.C_sim,
        "true_T1_sim": truth.T1_sim,
        "bias": bias,
        "bias_interval": (bias - half, bias + half),
        "covers": bool(low <= truth.effect <= high),
    }


def aa_within_arm(logs: Path, experiment: str, arm: str, aa: str) -> dict:
    """The A/A `aa` judged on `experiment`'s `arm` users only: mean_time_per_session's effect
    (% of the A/A's C half) and interval, and whether no listening metric is significant
    (Holm), as the loop's own A/A verdict."""
    log = load([str(logs)], 0.0, "")
    users = assign(log, experiment).events.filter(pl.col("arm") == arm)["user"].unique()
    within = replace(log, events=log.events.filter(pl.col("user").is_in(users.implode())))
    assignment = assign(within, aa)
    units = unit_metrics(assignment.events).units
    effects = effects_table(units, assignment.arms, "C", ALPHA)
    row = effects.filter(pl.col("metric") == METRIC).row(0, named=True)
    listening = effects.filter(pl.col("metric").is_in(FAMILIES["listening"]))
    return {
        "aa_arm_effect": row["effect"],
        "aa_arm_interval": (row["lower"], row["upper"]),
        "aa_arm_clean": not listening["significant_holm"].any(),
        "aa_arm_users": units.height,
    }
