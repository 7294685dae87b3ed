"""Can the report be trusted? Many independent repetitions of an experiment on generated logs.

Each repetition is its own population of users (own ids, so own mmh3 buckets, own habits),
bucketed into two experiments at once, as the service logs them: `AB`, whose T1 listens 5% more
(every listened fraction x 1.05, so mean_time_per_session is exactly 5% higher in expectation),
and `AA`, whose arms get the same recommender. Repetitions are simulated in batches (one
population of many repetitions' users) because the per-call overhead would dominate; the
statistics are computed per repetition by the report's own code.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from lab.synthetic import bucket_users, events_frame, make_users, simulate
from offline.report.effects import effects_table
from offline.report.metrics import unit_metrics

REPETITIONS = 1_000  # binomial SE of a 5% share: 0.7 points, so 3%..7% is about +-3 SE
USERS = 1_000  # per repetition, split about evenly between C and T1
BATCH = 100  # repetitions simulated together
EFFECT = 0.05


def per_repetition(units: pl.DataFrame) -> list[dict]:
    """The report's effect row for mean_time_per_session of each repetition."""
    rows = []
    parts = units.with_columns(rep=pl.col("user") // USERS).partition_by("rep", as_dict=True)
    for _, part in sorted(parts.items()):
        effects = effects_table(part.drop("rep"), ["C", "T1"], "C", 0.05)
        rows.append(effects.filter(metric="mean_time_per_session").row(0, named=True))
    return rows


@pytest.fixture(scope="module")
def repetitions() -> dict[str, list[dict]]:
    results: dict[str, list[dict]] = {"AB": [], "AA": []}
    for batch in range(REPETITIONS // BATCH):
        users = make_users(USERS * BATCH, seed=batch, first_id=batch * USERS * BATCH, tracks=4)
        events = simulate(users, {"AB": 2, "AA": 2}, seed=1_000 + batch, effects={"T1": EFFECT})
        units = unit_metrics(events_frame(events, "AB")).units
        results["AB"] += per_repetition(units)
        # Every user has one arm per experiment, so AA's units are AB's, relabelled.
        aa_arm = dict(
            zip(users.ids.tolist(), bucket_users(users.ids.tolist(), "AA", 2), strict=True)
        )
        relabel = pl.col("user").replace_strict(aa_arm, return_dtype=pl.Int64)
        aa_units = units.with_columns(
            arm=pl.when(relabel == 0).then(pl.lit("C")).otherwise(pl.lit("T1"))
        )
        results["AA"] += per_repetition(aa_units)
    return results


def test_aa_false_positive_rate_is_alpha(repetitions):
    aa = repetitions["AA"]
    assert len(aa) == REPETITIONS
    share = np.mean([row["significant"] for row in aa])
    assert 0.03 <= share <= 0.07, share
    # and the arms were about equal in size, as a fair split gives
    assert np.mean([row["n_treatment"] / row["n_control"] for row in aa]) == pytest.approx(1, 0.05)


def test_delta_method_interval_covers_the_injected_effect(repetitions):
    ab = repetitions["AB"]
    covered = np.mean([row["delta_lower"] < EFFECT * 100 < row["delta_upper"] for row in ab])
    assert 0.93 <= covered <= 0.97, covered
    # the effect is real and seen: the estimate centres on it
    assert np.mean([row["effect"] for row in ab]) == pytest.approx(EFFECT * 100, abs=0.5)


def test_the_course_interval_sees_a_real_effect_more_often_than_alpha(repetitions):
    power = np.mean([row["significant"] for row in repetitions["AB"]])
    assert power > 0.10, power  # about 0.14 here; 0.05 would mean blind
