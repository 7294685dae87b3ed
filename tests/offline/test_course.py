"""The course's definitions: sessions, user-level metrics and the effect's interval."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import scipy.stats

from lab.synthetic import cut, make_users, simulate, write_log
from offline.logs.logfiles import find_log_files
from offline.logs.reading import read_log
from offline.report.assignment import assign
from offline.report.effects import effects_table
from offline.report.metrics import METRICS, arm_summary, unit_metrics
from offline.report.stats import Sample, course_effect, welch_dof
from tests.offline.helpers import event, write_events

# Users 1-3 in C, 4-6 in T1. User 1 has a session and then an unfinished one, user 2 never
# finishes a session, user 5 has two sessions.
SMALL_LOG = [
    event(1, 1, "next", 0.5, 0.001),
    event(1, 2, "last", 0.25, 0.003),
    event(1, 3, "next", 1.0, 0.002),
    event(2, 1, "next", 0.5, 0.001),
    event(2, 5, "next", 0.5, 0.001),
    event(3, 1, "last", 0.1, 0.001),
    event(4, 1, "last", 0.9, 0.004, arm="T1"),
    event(5, 2, "next", 0.7, 0.001, arm="T1"),
    event(5, 3, "last", 0.2, 0.001, arm="T1"),
    event(5, 4, "next", 0.7, 0.001, arm="T1"),
    event(5, 5, "last", 0.3, 0.002, arm="T1"),
    event(6, 5, "last", 0.3, 0.002, arm="T1"),
]


def units_of(path: Path) -> pl.DataFrame:
    assignment = assign(read_log(find_log_files([str(path)])), "AB")
    return unit_metrics(assignment.events).units


def test_welch_interval_matches_a_hand_computed_case():
    control = Sample.of(np.array([0.2, 0.4, 0.6]))  # mean 0.4, var 0.04
    treatment = Sample.of(np.array([0.3, 0.5, 0.7, 0.9]))  # mean 0.6, var 0.2 / 3
    # se^2 = 0.04/3 + (0.2/3)/4 = 0.03; dof = 0.03^2 / ((0.04/3)^2/2 + (0.05/3)^2/3)
    assert welch_dof(control, treatment) == pytest.approx(0.0009 / (0.0016 / 18 + 0.0025 / 27))
    effect = course_effect(control, treatment, alpha=0.05)
    half = scipy.stats.t.ppf(0.975, 4.959183673469389) * math.sqrt(0.03)
    assert effect.effect == pytest.approx(50.0)
    assert effect.lower == pytest.approx((0.2 - half) / 0.4 * 100)
    assert effect.upper == pytest.approx((0.2 + half) / 0.4 * 100)
    assert not effect.significant
    # scipy's own Welch interval for the difference agrees
    welch = scipy.stats.ttest_ind([0.3, 0.5, 0.7, 0.9], [0.2, 0.4, 0.6], equal_var=False)
    low, high = welch.confidence_interval(0.95)
    assert (effect.lower, effect.upper) == pytest.approx((low / 0.4 * 100, high / 0.4 * 100))
    assert effect.p_value == pytest.approx(welch.pvalue)


def test_interval_that_excludes_zero_is_significant_either_way():
    low, high = Sample.of(np.array([1.0, 2.0, 3.0])), Sample.of(np.array([10.0, 11.0, 12.5]))
    assert course_effect(low, high, 0.05).significant
    assert course_effect(high, low, 0.05).significant
    assert course_effect(high, low, 0.05).upper < 0
    assert course_effect(low, high, 0.05).p_value < 0.05


def test_degenerate_samples_give_no_effect_rather_than_an_error():
    zero, some = Sample.of(np.zeros(5)), Sample.of(np.array([1.0, 2.0, 3.0]))
    assert math.isnan(course_effect(zero, some, 0.05).effect)  # % of a zero control mean
    single = Sample.of(np.array([1.0]))
    effect = course_effect(single, some, 0.05)
    assert math.isnan(effect.lower) and not effect.significant
    same = Sample.of(np.ones(4))  # no variance anywhere: no interval
    assert not course_effect(same, same, 0.05).significant


def test_small_log_gives_the_course_notebooks_numbers(tmp_path):
    units = units_of(write_events(tmp_path / "events.jsonl", SMALL_LOG))
    rows = {(u, str(a)): r for u, a, *r in units.select("user", "arm", *METRICS).iter_rows()}
    assert rows[(1, "C")] == pytest.approx([0.75, 1, 2.0, 2.0, 0.75])  # unfinished session out
    assert rows[(2, "C")][:2] == [0.0, 0]  # no complete session: counts 0, means undefined
    assert all(math.isnan(v) for v in rows[(2, "C")][2:])
    assert rows[(5, "T1")] == pytest.approx([1.9, 2, 1.25, 2.0, 0.95])
    effects = effects_table(units, ["C", "T1"], "C", 0.05)
    # The course's notebook run on this log gives these (control, treatment, effect, lower, upper).
    expected = {
        "time": (0.2833333333, 1.0333333333, 264.7058823529, -327.4494345880, 856.8611992939),
        "sessions": (0.6666666667, 1.3333333333, 100.0, -96.3243161478, 296.3243161478),
        "mean_request_latency": (1.5, 2.4166666667, 61.1111111111, -144.8405967378, 267.06281896),
        "mean_tracks_per_session": (
            1.5,
            1.3333333333,
            -11.1111111111,
            -192.5851502239,
            170.3629280016,
        ),
        "mean_time_per_session": (
            0.425,
            0.7166666667,
            68.6274509804,
            -357.0717867227,
            494.3266886834,
        ),
    }
    for row in effects.iter_rows(named=True):
        got = [row[k] for k in ("control_mean", "treatment_mean", "effect", "lower", "upper")]
        assert got == pytest.approx(expected[row["metric"]], rel=1e-9), row["metric"]
        assert row["significant"] is False
    # user 2's undefined means are left out of those metrics only
    assert effects.filter(metric="time")["n_control"].item() == 3
    assert effects.filter(metric="mean_time_per_session")["n_control"].item() == 2


def reference_units(lines: list[dict], experiment: str) -> dict[tuple[int, str], list[float]]:
    """The course's definitions, row by row: an independent check of the vectorised code."""
    by_unit = defaultdict(list)
    for index, e in enumerate(lines):
        by_unit[(e["user"], e["experiments"][experiment])].append((e["timestamp"], index, e))
    result = {}
    for unit, rows in by_unit.items():
        sessions = tracks = 0
        time = latency = 0.0
        open_session: list[dict] = []
        for _, _, e in sorted(rows, key=lambda r: (r[0], r[1])):
            open_session.append(e)
            if e["message"] == "last":
                sessions += 1
                tracks += len(open_session)
                time += sum(x["time"] for x in open_session)
                latency += sum(x["latency"] * 1000 for x in open_session)
                open_session = []
        mean = (lambda a, b: a / b) if sessions else (lambda a, b: math.nan)
        result[unit] = [
            time,
            sessions,
            mean(latency, tracks),
            mean(tracks, sessions),
            mean(time, sessions),
        ]
    return result


def test_vectorised_sessions_equal_a_row_by_row_reading(tmp_path):
    events = simulate(make_users(300, seed=3), {"AB": 3}, seed=4)
    events = cut(events, int(np.quantile(events["timestamp"], 0.7)))  # leaves sessions open
    write_log(events, tmp_path / "log", replicas=3, max_bytes=40_000, seed=5)
    switcher = event(int(events["user"][0]), int(events["timestamp"][0]) + 1, "last", arm="T9")
    write_events(tmp_path / "log" / "late" / "events.jsonl", [switcher])
    lines = [
        json.loads(line)
        for f in find_log_files([str(tmp_path / "log")])
        for line in f.read_text().splitlines()
    ]

    units = units_of(tmp_path / "log")
    expected = reference_units(lines, "AB")
    assert units.height == len(expected)
    assert units.filter(pl.col("mean_time_per_session").is_nan()).height > 0
    for user, arm, *values in units.select("user", "arm", *METRICS).iter_rows():
        assert values == pytest.approx(expected[(user, str(arm))], nan_ok=True), (user, arm)


def test_arm_summary_counts_incomplete_sessions_and_latency_percentiles(tmp_path):
    path = write_events(tmp_path / "events.jsonl", SMALL_LOG)
    assignment = assign(read_log(find_log_files([str(path)])), "AB")
    summary = arm_summary(assignment.events, unit_metrics(assignment.events))
    rows = {str(r["arm"]): r for r in summary.iter_rows(named=True)}
    # C: user 1's trailing event and user 2's two events are open sessions
    assert {k: rows["C"][k] for k in ("users", "events", "sessions")} == {
        "users": 3,
        "events": 6,
        "sessions": 2,
    }
    assert (rows["C"]["incomplete_sessions"], rows["C"]["incomplete_events"]) == (2, 3)
    assert (rows["T1"]["sessions"], rows["T1"]["incomplete_sessions"]) == (4, 0)
    # latencies of C in ms: 1, 3, 2, 1, 1, 1 -> median 1, p99 interpolated 2 + 0.95 * (3 - 2)
    assert rows["C"]["latency_p50_ms"] == pytest.approx(1.0)
    assert rows["C"]["latency_p99_ms"] == pytest.approx(2.95)
    assert list(summary["arm"].cast(pl.String)) == ["C", "T1"]
