"""Many independent repetitions of a two-arm experiment on synthetic logs, for the checks of
planning and peeking (bench/plan_power.py, bench/peeking.py and their tests).

Each repetition is its own population (own ids, so own mmh3 buckets, and own habits). They are
simulated in batches, one population of many repetitions' users, because the per-call overhead
would dominate; each event table carries `rep`, and the statistics are computed per repetition
by the report's own code (offline.report.metrics, offline.report.stats) from per-(rep, arm)
summaries.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import special

from lab.synthetic import events_frame, make_users, simulate
from offline.logs.reading import time_span
from offline.report.metrics import unit_metrics
from offline.report.peeking import look_times
from offline.report.sequential import NOTHING, AlwaysValid, always_valid, running
from offline.report.stats import Sample, course_effect, lift_variance

EXPERIMENT = "AB"
BATCH_EVENTS = 3_000_000  # about the events one batch holds in memory at a time


def batches(
    repetitions: int,
    users: int,
    seed: int,
    effect: float = 0.0,
    tracks: float = 4.0,
) -> Iterator[pl.DataFrame]:
    """The events of every repetition (`users` users each, T1's listened fractions x (1 +
    `effect`)), as offline.report.assignment gives them plus `rep`, a batch at a time."""
    per_batch = max(1, BATCH_EVENTS // int(users * tracks * 3))
    for first in range(0, repetitions, per_batch):
        count = min(per_batch, repetitions - first)
        # ids unique over seeds and repetitions: user // users is the repetition
        first_id = (seed * 1_000_000 + first) * users
        population = make_users(
            users * count, seed=seed * 7_919 + first, first_id=first_id, tracks=tracks
        )
        events = simulate(
            population, {EXPERIMENT: 2}, seed=seed * 7_919 + first + 1, effects={"T1": effect}
        )
        yield events_frame(events, EXPERIMENT).with_columns(
            rep=(pl.col("user") // users) - seed * 1_000_000
        )


def arm_samples(
    events: pl.DataFrame, metric: str, reps: list[int] | None = None
) -> list[tuple[Sample, Sample]]:
    """Each repetition's (control, treatment) summaries of a metric over its users, as
    Sample.of gives them (NaN values left out), for `reps` (default: those in `events`)."""
    units = unit_metrics(events.drop("rep")).units
    rep_of = events.select("user", "rep").unique("user")
    summary = (
        units.join(rep_of, on="user")
        .filter(pl.col(metric).is_not_nan())
        .group_by("rep", "arm")
        .agg(n=pl.len(), mean=pl.col(metric).mean(), var=pl.col(metric).var(ddof=1))
    )
    by_key = {
        (rep, str(arm)): Sample(n, mean, var) for rep, arm, n, mean, var in summary.iter_rows()
    }
    empty = Sample(0, float("nan"), float("nan"))
    return [
        (by_key.get((rep, "C"), empty), by_key.get((rep, "T1"), empty))
        for rep in (reps if reps is not None else sorted(rep_of["rep"].unique().to_list()))
    ]


def population(users: int, seed: int, tracks: float = 4.0) -> pl.DataFrame:
    """One period of a population like the repetitions', as a log of it gives it: an A/A
    experiment's events (offline.report.assignment's table) for offline.report.plan to plan from."""
    events = simulate(make_users(users, seed=seed, tracks=tracks), {EXPERIMENT: 2}, seed=seed + 1)
    return events_frame(events, EXPERIMENT)


def share_significant(
    repetitions: int, users: int, effect: float, metric: str, alpha: float, seed: int
) -> tuple[float, float]:
    """Over independent repetitions of `users` users each with T1's effect: the share whose
    delta-method interval of the lift excludes 0, and the share the course's test finds."""
    delta = course = 0
    z = float(special.ndtri(1 - alpha / 2))
    for frame in batches(repetitions, users, seed, effect):
        for control, treatment in arm_samples(frame, metric):
            lift, var = lift_variance(control, treatment)
            delta += abs(lift) > z * math.sqrt(var)
            course += course_effect(control, treatment, alpha).significant
    return delta / repetitions, course / repetitions


@dataclass(frozen=True)
class Peeks:
    """Per repetition and look: significant by the fixed-horizon test, by the always-valid one."""

    fixed: np.ndarray  # bool, repetitions x looks
    sequential: np.ndarray


def peeks(
    repetitions: int,
    users: int,
    effect: float,
    metric: str,
    looks: int,
    alpha: float,
    tau: float,
    seed: int,
) -> Peeks:
    """Each repetition looked at `looks` times, equally spaced over its span, as `botify ab
    --looks` looks: the course's test and the running always-valid test at every look."""
    fixed, sequential = [], []
    for frame in batches(repetitions, users, seed, effect):
        first_ms, last_ms = time_span(frame)
        reps = sorted(frame["rep"].unique().to_list())
        found = np.zeros((2, len(reps), looks), dtype=bool)
        so_far: dict[int, AlwaysValid] = {}
        for look, end_ms in enumerate(look_times(first_ms, last_ms, None, looks)):
            for rep, (control, treatment) in enumerate(
                arm_samples(frame.filter(pl.col("timestamp") <= end_ms), metric, reps)
            ):
                found[0, rep, look] = course_effect(control, treatment, alpha).significant
                lift, var = lift_variance(control, treatment)
                now = running(so_far.get(rep, NOTHING), always_valid(lift, var, tau, alpha))
                so_far[rep] = now
                found[1, rep, look] = now.significant
        fixed.append(found[0])
        sequential.append(found[1])
    return Peeks(np.concatenate(fixed), np.concatenate(sequential))
