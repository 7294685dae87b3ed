"""The report's first step, and the only one that touches events: from the log to one row per
(user, arm), on an engine. This module is the contract every engine implements.

    botify ab LOG... --engine polars|spark

The report is two steps. This one reads the events (JSON lines as the service writes them, or a
folder that `botify logs compact` wrote) and reduces them to the tables below; the second (the
statistics: offline.report.effects, stats, sequential, peeking, text, charts) reads only those
tables. An engine is a module with two functions:

    unit_rows(paths, choose, options) -> UnitRows   # the experiment's rows
    user_rows(paths, check, options) -> UserRows    # an earlier period's rows (--pre), arm-blind

`paths` are the LOG arguments as given; `options` the engine's own settings (Spark's master).
The engine reads the log, builds its LogAccount (offline.logs.account: lines, every skipped
line by kind with the first few named, cut final lines, the experiments named: exactly what
offline.logs.reading counts), then calls `choose(account)` (or `check(account)`), which returns
the experiment to judge or raises InputError (too many bad lines, no events, an unknown
experiment), and only then aggregates. `choose` may see the account before duplicates are found
(they never decide anything there: they are not bad lines, and an event's copy names the same
experiments); the account returned in UnitRows has them.

Definitions every engine follows (today's, from offline.logs.reading, sessions and
report.assignment, report.metrics and report.serving):
- usable events: reading's rules; a duplicate line (the same bytes as an earlier usable line) is
  dropped.
- an event's arm: the string label its `experiments` object gives the experiment (a missing,
  non-string or empty label: no arm; such events are only counted, `unassigned_events`).
- a unit is a (user, arm) pair; its events in order of (timestamp, reading order); a session is
  a run of events closed by a `last` event, which it includes; the events after the unit's final
  `last` are its incomplete session, left out of the metrics.
- reading order: files in offline.logs.logfiles' order, then line order; `seq` below is any
  int64 that increases in that order.

The tables (polars frames with exactly these columns and types; `arm` is String as an engine
returns it, and an Enum in arm order C, T1, ... once `unit_rows` below has checked it):

UNITS, one row per (user, arm):
    user Int64, arm String,
    events Int64             every event of the unit
    incomplete_events Int64  those after its final `last`
    sessions Int64           its complete sessions (its `last` events)
    tracks Int64             the events of its complete sessions (events - incomplete_events)
    time Float64             sum of `time` over those events
    latency_ms Float64       sum of `latency` * 1000 over those events
    first_ms Int64, first_seq Int64   its first event's timestamp and reading order
SESSIONS, one row per complete session (the session-time chart and the looks of --every):
    user Int64, arm String,
    end_ms Int64             its `last` event's timestamp
    tracks Int64, time Float64, latency_ms Float64   as in UNITS, over the session's events
ARMS, one row per arm, over all its events:
    arm String, events Int64,
    latency_p50_ms Float64, latency_p99_ms Float64   exact quantiles of latency * 1000, linear
                                                     interpolation (polars' "linear", numpy's)
LINKS, one row per arm and chain link, over the arm's `next` events (report.serving):
    arm String, link String (null: events without `recommender`),
    requests Int64 (the arm's `next` events), answered Int64 (`recommender` == link),
    failed Int64 (`failed` names link)
VERSIONS, one row per `data_version` (null: not logged) over the experiment's events:
    data_version String, events Int64, first_ms Int64, last_ms Int64
and beside them: `span` (the experiment's first and last timestamp, ms), `unassigned_events`,
and `lost` (every loss record, lost_events.ndjson, of the folders read; report.serving).

user_rows' UNITS are the same without `arm`: one row per user over all of the user's events,
whatever their arms, for CUPED's pre-period covariates.

Engines: ENGINES below; `polars` (offline.report.polars_engine, the default) streams on one
machine; `spark` (offline.report.spark_engine, botify[spark]) runs the same aggregation on a
Spark cluster. A module that cannot be imported is said as not available, with the reason.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType

import polars as pl

from botify.arms import arm_order
from offline.logs.account import LogAccount
from offline.logs.errors import InputError

UNITS: dict[str, pl.DataType] = {
    "user": pl.Int64(),
    "arm": pl.String(),
    "events": pl.Int64(),
    "incomplete_events": pl.Int64(),
    "sessions": pl.Int64(),
    "tracks": pl.Int64(),
    "time": pl.Float64(),
    "latency_ms": pl.Float64(),
    "first_ms": pl.Int64(),
    "first_seq": pl.Int64(),
}
USERS = {name: dtype for name, dtype in UNITS.items() if name != "arm"}
SESSIONS: dict[str, pl.DataType] = {
    "user": pl.Int64(),
    "arm": pl.String(),
    "end_ms": pl.Int64(),
    "tracks": pl.Int64(),
    "time": pl.Float64(),
    "latency_ms": pl.Float64(),
}
ARMS: dict[str, pl.DataType] = {
    "arm": pl.String(),
    "events": pl.Int64(),
    "latency_p50_ms": pl.Float64(),
    "latency_p99_ms": pl.Float64(),
}
LINKS: dict[str, pl.DataType] = {
    "arm": pl.String(),
    "link": pl.String(),
    "requests": pl.Int64(),
    "answered": pl.Int64(),
    "failed": pl.Int64(),
}
VERSIONS: dict[str, pl.DataType] = {
    "data_version": pl.String(),
    "events": pl.Int64(),
    "first_ms": pl.Int64(),
    "last_ms": pl.Int64(),
}

# Given the log's account: the experiment to judge, or InputError.
Choose = Callable[[LogAccount], str]
# Given an earlier period's account: nothing, or InputError.
Check = Callable[[LogAccount], None]


@dataclass
class UnitRows:
    account: LogAccount
    experiment: str
    units: pl.DataFrame  # UNITS
    sessions: pl.DataFrame  # SESSIONS
    arms: pl.DataFrame  # ARMS
    links: pl.DataFrame  # LINKS
    versions: pl.DataFrame  # VERSIONS
    span: tuple[int, int]
    unassigned_events: int
    lost: list[dict] = field(default_factory=list)
    arm_names: list[str] = field(default_factory=list)  # in arm order, set by unit_rows


@dataclass
class UserRows:
    account: LogAccount
    units: pl.DataFrame  # USERS


# --engine NAME -> the module that implements it (imported only when chosen).
ENGINES = {
    "polars": "offline.report.polars_engine",
    "spark": "offline.report.spark_engine",
}
DEFAULT_ENGINE = "polars"


def engine_module(name: str) -> ModuleType:
    if name not in ENGINES:
        raise InputError(f"--engine {name!r}: unknown; engines: {', '.join(ENGINES)}")
    try:
        return importlib.import_module(ENGINES[name])
    except ImportError as error:
        raise InputError(f"--engine {name} is not available here: {error}") from None


def conform(frame: pl.DataFrame, schema: Mapping[str, pl.DataType], what: str) -> pl.DataFrame:
    """The engine's table with exactly the schema's columns, in order and of its types."""
    missing = [name for name in schema if name not in frame.columns]
    if missing:
        raise ValueError(f"the engine's {what} table lacks {', '.join(missing)}")
    return frame.select(pl.col(name).cast(dtype, strict=True) for name, dtype in schema.items())


def unit_rows(
    paths: Sequence[str],
    choose: Choose,
    engine: str = DEFAULT_ENGINE,
    options: Mapping[str, str] | None = None,
) -> UnitRows:
    """The experiment's tables by `engine`, checked against the contract, `arm` as an Enum in
    arm order (C, T1, T2, ..., botify.arms.arm_order)."""
    rows: UnitRows = engine_module(engine).unit_rows(list(paths), choose, dict(options or {}))
    names = sorted(set(rows.units["arm"].drop_nulls().to_list()), key=arm_order)
    if not names:
        raise InputError(
            f'experiment {rows.experiment!r} names no arm (a string such as "C") anywhere'
        )
    arm = pl.Enum(names)

    def checked(frame: pl.DataFrame, schema: Mapping[str, pl.DataType], what: str):
        frame = conform(frame, schema, what)
        return frame.with_columns(pl.col("arm").cast(arm)) if "arm" in schema else frame

    rows.units = checked(rows.units, UNITS, "units").sort("user", "arm")
    rows.sessions = checked(rows.sessions, SESSIONS, "sessions").sort(
        "user", "arm", "end_ms", maintain_order=True
    )
    rows.arms = checked(rows.arms, ARMS, "arms").sort("arm")
    rows.links = checked(rows.links, LINKS, "links").sort("arm", "link", nulls_last=True)
    rows.versions = checked(rows.versions, VERSIONS, "versions").sort("first_ms")
    rows.arm_names = names
    return rows


def user_rows(
    paths: Sequence[str],
    check: Check,
    engine: str = DEFAULT_ENGINE,
    options: Mapping[str, str] | None = None,
) -> UserRows:
    """An earlier period's rows by `engine`, one per user, checked against the contract."""
    rows: UserRows = engine_module(engine).user_rows(list(paths), check, dict(options or {}))
    rows.units = conform(rows.units, USERS, "users").sort("user")
    return rows
