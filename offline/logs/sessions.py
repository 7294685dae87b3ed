"""Listening sessions: the one definition, for the A/B report's metrics and for training.

A unit's events (a user's for training, a (user, arm) pair's for the report) are taken in
timestamp order; ties (same millisecond) keep reading order `seq`, which is time order within one
replica. A session is a run of events closed by a `last` event, the `last` one included. The
events after a unit's final `last` (the log was cut while the user listened) are a session too,
marked incomplete. A session cut at the start of the log cannot be told from a short one and
counts as complete, as in the course.
"""

from __future__ import annotations

import polars as pl


def mark_sessions(events: pl.DataFrame, unit: list[str]) -> pl.DataFrame:
    """`events` (the `unit` columns, timestamp, seq, message) sorted by unit and time, with
    `unit` (a number per unit, increasing), `session` (0.. in order of unit and start),
    `position` (0.. within the session) and `complete` (closed by a `last` event)."""
    is_last = pl.col("message") == "last"
    # ne_missing: a null key (no arm, as in a pre-period) equals the next null key.
    new_unit = pl.any_horizontal(pl.col(name).ne_missing(pl.col(name).shift(1)) for name in unit)
    # Row-wise scans over the whole table, no per-unit window: the rows are grouped by unit.
    marked = events.sort([*unit, "timestamp", "seq"]).with_columns(
        unit=new_unit.fill_null(True).cum_sum(),
        start=(new_unit | is_last.shift(1)).fill_null(True),
    )
    row = pl.int_range(pl.len(), dtype=pl.Int64)
    # A session is complete when the next `last` at or after it is its own unit's.
    next_closer = pl.when(is_last).then(pl.col("unit")).backward_fill()
    return marked.with_columns(
        session=pl.col("start").cum_sum().cast(pl.Int64) - 1,
        position=row - pl.when("start").then(row).forward_fill(),
        complete=(next_closer == pl.col("unit")).fill_null(False),
    ).drop("start")
