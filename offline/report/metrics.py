"""The course's user-level metrics over sessions (offline.logs.sessions), vectorised: the unit
sums that the aggregation's engines produce (`unit_sums`, the polars engine's own code), and the
means taken from them (`with_means`).

This reproduces the course's notebook (a row-by-row `sessionize` over `groupby(["user",
"treatment"])`), read as follows:

- The unit is a (user, arm) pair: a user whose arm changed within the log counts once in each
  arm, as the course's groupby does (the report flags such users).
- Sessions are offline.logs.sessions': a unit's events in time order, each session closed by a
  `last` event; every event of it counts as a track, the `last` one included, and adds its `time`
  (listened fraction) and its `latency`.
- The incomplete session after a unit's final `last` (the log was cut while the user listened):
  the course drops it silently; here it is dropped from the metrics too, so the numbers match,
  but counted and reported.
- Per unit: `time` = sum of `time` over the events of complete sessions, `sessions` = number of
  `last` events, `mean_request_latency` = mean `latency` over those events in milliseconds (the
  course multiplies by 1000), `mean_tracks_per_session` = events / sessions,
  `mean_time_per_session` = time / sessions.
- A unit with no complete session keeps `time` = 0 and `sessions` = 0 and has no value (NaN) for
  the three means, which then leave it out of their statistics: this is what the course's
  explode/groupby produces for such a user.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from offline.logs.sessions import mark_sessions

METRICS = (
    "time",
    "sessions",
    "mean_request_latency",
    "mean_tracks_per_session",
    "mean_time_per_session",
)
# Each metric's good direction: +1 where higher is better (the listeners stayed longer, came back
# more), -1 where lower is (the service answered faster). A significant change against it is bad.
GOOD_DIRECTION = {
    "time": 1,
    "sessions": 1,
    "mean_request_latency": -1,
    "mean_tracks_per_session": 1,
    "mean_time_per_session": 1,
}
# The metrics in families that are read together (the charts draw a family's effects on one
# scale): what the listeners did, and how fast the service answered.
FAMILIES = {
    "listening": ("time", "sessions", "mean_tracks_per_session", "mean_time_per_session"),
    "latency": ("mean_request_latency",),
}
UNIT = ["user", "arm"]


@dataclass
class UnitMetrics:
    # one row per (user, arm): the METRICS, `events` (all of the unit's events) and
    # `incomplete_events` (those after its final `last`)
    units: pl.DataFrame
    # one row per complete session: user, arm, tracks, time
    sessions: pl.DataFrame


def unit_sums(events: pl.DataFrame, unit: list[str] = UNIT) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The aggregation's rows (offline.report.aggregate) of `events` (the `unit` columns,
    timestamp, seq, message, time, latency): one per unit (UNITS' columns) and one per complete
    session (SESSIONS'), units in order of `unit`, sessions in order of unit and time."""
    sessions = (
        mark_sessions(events, unit)
        .group_by("session", maintain_order=True)
        .agg(
            pl.col("unit").first(),
            *(pl.col(name).first() for name in unit),
            tracks=pl.len(),
            time=pl.col("time").sum(),
            latency_ms=(pl.col("latency") * 1000).sum(),
            complete=pl.col("complete").first(),
            first_ms=pl.col("timestamp").first(),
            first_seq=pl.col("seq").first().cast(pl.Int64),
            end_ms=pl.col("timestamp").last(),
        )
    )
    complete = pl.col("complete")
    units = (
        sessions.group_by("unit", maintain_order=True)
        .agg(
            *(pl.col(name).first() for name in unit),
            events=pl.col("tracks").sum().cast(pl.Int64),
            incomplete_events=pl.col("tracks").filter(~complete).sum().cast(pl.Int64),
            sessions=complete.sum().cast(pl.Int64),
            tracks=pl.col("tracks").filter(complete).sum().cast(pl.Int64),
            time=pl.col("time").filter(complete).sum(),
            latency_ms=pl.col("latency_ms").filter(complete).sum(),
            first_ms=pl.col("first_ms").first(),
            first_seq=pl.col("first_seq").first(),
        )
        .drop("unit")
    )
    ended = sessions.filter(complete).select(
        *unit, "end_ms", pl.col("tracks").cast(pl.Int64), "time", "latency_ms"
    )
    return units, ended


def with_means(units: pl.DataFrame) -> pl.DataFrame:
    """Units' sums (sessions, tracks, time, latency_ms) with the three means of METRICS."""
    # 0/0 is NaN here, as in pandas: undefined for a unit without a complete session.
    return units.with_columns(
        mean_request_latency=pl.col("latency_ms") / pl.col("tracks"),
        mean_tracks_per_session=pl.col("tracks") / pl.col("sessions"),
        mean_time_per_session=pl.col("time") / pl.col("sessions"),
    )


def unit_metrics(events: pl.DataFrame) -> UnitMetrics:
    """`events` needs user, arm, timestamp, seq, message, time, latency."""
    units, sessions = unit_sums(events)
    return UnitMetrics(
        units=with_means(units.drop("first_ms", "first_seq")),
        sessions=sessions.select(*UNIT, "tracks", "time"),
    )


def arm_latency(events: pl.DataFrame) -> pl.DataFrame:
    """Per arm: events, and latency p50/p99 (ms) over all of the arm's events (the
    aggregation's ARMS table)."""
    return events.group_by("arm").agg(
        events=pl.len(),
        latency_p50_ms=(pl.col("latency") * 1000).quantile(0.5, "linear"),
        latency_p99_ms=(pl.col("latency") * 1000).quantile(0.99, "linear"),
    )


def arm_table(units: pl.DataFrame, latency: pl.DataFrame) -> pl.DataFrame:
    """Per arm: users, events, complete and incomplete sessions, and latency p50/p99 (ms), from
    the units and arm_latency's table."""
    counts = units.group_by("arm").agg(
        users=pl.len(),
        sessions=pl.col("sessions").sum(),
        incomplete_sessions=(pl.col("incomplete_events") > 0).sum(),
        incomplete_events=pl.col("incomplete_events").sum(),
    )
    return (
        counts.join(latency, on="arm")
        .sort("arm")
        .select(
            "arm",
            "users",
            "events",
            "sessions",
            "incomplete_sessions",
            "incomplete_events",
            "latency_p50_ms",
            "latency_p99_ms",
        )
    )


def arm_summary(events: pl.DataFrame, metrics: UnitMetrics) -> pl.DataFrame:
    """arm_table from the events themselves."""
    return arm_table(metrics.units, arm_latency(events))
