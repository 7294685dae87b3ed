"""The ledger of `botify experiment --days N --truth`: for each day from 2, what was predicted
the evening before, what the A/B measured, and what was true.

- predicted: at the end of day d, once T1's files for day d + 1 are learned, `botify ope`'s
  machinery (offline.report.ope) replays day d's logged T1 requests over day d + 1's T1 chain,
  from the histories the users had when day d began, and estimates the chain's mean session
  time (the simulator's count, OPE's unit). The estimate is the direct method through the log's
  session-length law (length_law): per-decision DR is kept beside it, but its weights, products
  of a session's ratios, collapse when the next day's chain is a new model (few of its choices
  are the logged ones, and those the 5% exploration logged weigh thousands). C's chain never
  changes, so its prediction is its measured level of day d. The predicted effect in the
  report's count (the verdict's) follows from both: a session's time in the report's count is
  1 (its first track) plus the simulator's, so (T1 - C) / (1 + C), exact when every user has
  the same number of sessions and an approximation otherwise (the report averages per user
  first). `botify plan --expected-lift` then sizes day d + 1's test for it: the planned power
  at the day's size (C's users of day d per arm) and the MDE at that size;
- measured: the A/B's T1 arm and its effect (botify ab), and its verdict;
- true: the world where everyone is on T1 (lab.counterfactual) and the true effect.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

from offline.report.ope import (
    Replay,
    clustered_interval,
    logged_session_time,
    replay,
    session_estimates,
)
from offline.report.plan import make_plan, markdown, mde_at, power_for
from offline.report.plan import parse_args as plan_args

METRIC = "mean_time_per_session"
WITHIN = 0.10  # a prediction within 10% of the true level, as lab.ope_check counts


def predict(
    logs: Path,
    next_config: Path,
    where: tuple[str, str],
    histories: dict[int, list[tuple[int, float]]],
    c_sim: float,
    plan_out: Path,
) -> dict:
    """The prediction for the day served by `next_config`'s T1 arm, from the day logged in
    `logs` (its T1 requests: `where`), and the plan of that day's test, its printout into
    `plan_out`. `c_sim`: C's mean session time of the logged day (the simulator's count)."""
    done = replay([str(logs)], next_config, "T1", 0, where, histories)
    level, low, high = length_law(done)
    per_session = session_estimates(done.requests, done.probability, done.value, done.model)
    dr = next(e for e in per_session if e.method == "DR")
    lift = (level - c_sim) / (1 + c_sim)
    prediction = {
        "predicted_T1_sim": level,
        "predicted_interval": (low, high),
        "dr_T1_sim": dr.value,
        "dr_interval": (dr.low, dr.high),
        "dr_ess": dr.ess,
        "predicted_C_sim": c_sim,
        "predicted_effect": lift * 100,
        "planned_mde": math.nan,
        "planned_power": math.nan,
    }
    if not math.isfinite(lift) or lift == 0 or not -1 < lift < 10:  # nothing to size for
        return prediction
    experiment, _ = where
    args = [str(logs), "--experiment", experiment, "--arm", "C", f"--expected-lift={lift}"]
    plan = make_plan(plan_args(args))
    plan = replace(plan, users_per_arm=float(plan.users))  # the next day: as many per arm
    plan_out.write_text(markdown(plan))
    spread = next(s for s in plan.spreads if s.metric == METRIC)
    prediction["planned_mde"] = mde_at(spread, plan.users_per_arm, plan.alpha, plan.power) * 100
    prediction["planned_power"] = power_for(spread, plan.users_per_arm, lift, plan.alpha)
    prediction["planned_users_per_arm"] = plan.users
    return prediction


def length_law(done: Replay) -> tuple[float, float, float]:
    """The target's mean session time (the simulator's count) and its 95% interval: the
    direct method's mean listened fraction m (the reward model under the target, on the logged
    requests) through the log's own session-length law S = k m / (1 - m). k is the logged
    sessions' mean unlistened time, S_log (1 - m_log) / m_log: sessions end after about the
    same amount of what was not listened to (5.0 in every log of the loop: the listener's
    budget of skips), whatever the chain. The interval is m's, clustered by user, through the
    law; k's own error (small: the whole log's) is left out."""
    requests, value = done.requests, done.value
    m_log, s_log = float(requests.reward.mean()), logged_session_time(requests)
    m = float(value.mean())
    if not (0 < m < 1 and 0 < m_log < 1):
        return math.nan, math.nan, math.nan
    k = s_log * (1 - m_log) / m_log
    half = clustered_interval(value - m, requests.user, len(value))
    level, slope = k * m / (1 - m), k / (1 - m) ** 2
    return level, level - slope * half, level + slope * half


def ledger_entry(prediction: dict, row: dict) -> dict:
    """The day's ledger beside its prediction: `row` holds the A/B's columns and the truth's
    (lab.truth.against_truth)."""
    true_level = row["true_T1_sim"]
    error = prediction["predicted_T1_sim"] / true_level - 1 if true_level else math.nan
    return {
        **prediction,
        "prediction_error": error,  # predicted level / true level - 1
        "prediction_within": bool(abs(error) <= WITHIN),
        "measured_T1_sim": row["T1_sim"],
        "measured_effect": row["effect"],
        "measured_significant": row["significant"],
        "true_T1_sim": true_level,
        "true_effect": row["true_effect"],
    }
