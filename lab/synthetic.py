"""Synthetic event logs in botify's format, for the A/B report's tests and benchmark.

A stand-in for the simulator's traffic, faithful where the report cares: users are bucketed by
the service's mmh3 formula, each session is a run of `next` events closed by one `last`, every
event carries a listened fraction and a latency, and the log is spread over replica folders with
size-rotated files, newest in `events.jsonl`. Users have a persistent taste (their typical
listened fraction and session length), so an earlier period's metrics predict a later one's, as
CUPED needs. A treatment arm's `effect` multiplies that arm's listened fractions, which moves
`time`, `mean_time_per_session` (and nothing else) by exactly that relative amount in expectation.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from botify.arms import arm_names, bucket, experiment_seed
from botify.config import Config
from botify.eventlog import EventLog
from botify.events import FIELDS
from botify.inprocess import InProcessRecommender
from botify.lognames import file_name

DAY_MS = 86_400_000
SYNTHETIC_VERSION = "1-5e7e71c0"  # the data version every synthetic event names
# Listened fractions are drawn below this cap so that an injected effect of up to +10% still
# yields fractions <= 1 (a larger one is cut at 1).
TIME_CAP = 0.9


def bucket_users(users: Sequence[int], experiment: str, n_arms: int) -> np.ndarray:
    """The service's assignment (botify.arms.bucket): arm index of each user (0 is control)."""
    seed = experiment_seed(experiment)
    return np.fromiter(
        (bucket(user, experiment, n_arms, seed) for user in users),
        dtype=np.int64,
        count=len(users),
    )


@dataclass(frozen=True)
class Users:
    """The hidden world: who the users are and how they listen."""

    ids: np.ndarray  # user ids
    taste: np.ndarray  # Beta mean of each user's listened fraction
    length: np.ndarray  # mean tracks per session of each user
    activity: np.ndarray  # mean sessions per period of each user


def make_users(
    n_users: int, seed: int, first_id: int = 0, tracks: float = 11.0, sessions: float = 3.0
) -> Users:
    """Users with about `tracks` tracks per session and `sessions` sessions per period on
    average, each user with their own habits."""
    rng = np.random.default_rng(seed)
    return Users(
        ids=np.arange(first_id, first_id + n_users, dtype=np.int64),
        taste=rng.beta(4.0, 4.0, n_users),
        length=rng.gamma(4.0, (tracks - 1.0) / 4.0, n_users) + 1.0,
        activity=rng.gamma(2.0, (sessions - 1.0) / 2.0, n_users),
    )


def simulate(
    users: Users,
    experiments: Mapping[str, int],
    seed: int,
    effects: Mapping[str, float] | None = None,
    start_ms: int = 1_700_000_000_000,
    span_ms: int = DAY_MS,
) -> dict[str, np.ndarray]:
    """One period of traffic as columns, in time order.

    `experiments` maps each experiment name to its number of arms; `effects` maps an arm label
    of the first experiment to the relative change of that arm's listened fractions.
    """
    rng = np.random.default_rng(seed)
    names = list(experiments)
    arms = {name: bucket_users(users.ids.tolist(), name, n) for name, n in experiments.items()}

    sessions_per_user = 1 + rng.poisson(users.activity)
    session_user = np.repeat(np.arange(len(users.ids)), sessions_per_user)
    tracks_per_session = rng.geometric(1.0 / users.length[session_user])
    event_session = np.repeat(np.arange(len(session_user)), tracks_per_session)
    event_user = session_user[event_session]
    n_events = len(event_user)

    # A session's last event is its `last` message.
    is_last = np.zeros(n_events, dtype=bool)
    is_last[np.cumsum(tracks_per_session) - 1] = True

    taste = users.taste[event_user]
    fraction = TIME_CAP * rng.beta(8.0 * taste + 0.5, 8.0 * (1.0 - taste) + 0.5)
    if effects:
        arm_of_event = arms[names[0]][event_user]
        labels = arm_names(experiments[names[0]])
        for label, effect in effects.items():
            fraction = np.where(
                arm_of_event == labels.index(label), fraction * (1 + effect), fraction
            )
        # A listened fraction is at most 1 (the service rejects more, the offline readers skip
        # it): an effect above +10% is dampened where it would pass 1.
        fraction = np.minimum(fraction, 1.0)
    latency = rng.lognormal(np.log(0.002), 0.5, n_events)

    # Time: a user's sessions follow each other, tracks a few seconds to minutes apart.
    gap = rng.integers(2_000, 240_000, n_events)
    first_of_session = np.r_[True, event_session[1:] != event_session[:-1]]
    gap = np.where(first_of_session, rng.integers(60_000, 3_600_000, n_events), gap)
    elapsed = np.cumsum(gap)
    first_of_user = np.r_[True, event_user[1:] != event_user[:-1]]
    user_origin = np.maximum.accumulate(np.where(first_of_user, elapsed, 0))
    user_start = rng.integers(0, span_ms // 2, len(users.ids))
    timestamp = start_ms + user_start[event_user] + (elapsed - user_origin)

    order = np.argsort(timestamp, kind="stable")
    # Numbers and flags only (strings are slow to build): to_frame spells the messages out.
    columns = {
        "last": is_last,
        "timestamp": timestamp,
        "user": users.ids[event_user],
        "track": rng.integers(0, 50_000, n_events),
        "time": np.round(fraction, 6),
        "latency": np.round(latency, 6),
        "recommendation": rng.integers(0, 50_000, n_events),
        "fallback": rng.random(n_events) < 0.1,  # answered by the chain's fallback
    }
    events: dict[str, Any] = {key: value[order] for key, value in columns.items()}
    events["user_index"] = event_user[order]
    events["arms"] = {name: arms[name][event_user[order]] for name in names}
    events["arm_names"] = {name: arm_names(n) for name, n in experiments.items()}
    return events


def cut(events: dict, end_ms: int) -> dict:
    """The events before `end_ms`: a log copied while users were still listening."""
    keep = events["timestamp"] < end_ms
    kept = {key: value[keep] for key, value in events.items() if isinstance(value, np.ndarray)}
    kept["arms"] = {name: arms[keep] for name, arms in events["arms"].items()}
    kept["arm_names"] = events["arm_names"]
    return kept


def to_frame(events: dict) -> pl.DataFrame:
    """The events as the service logs them, field for field (a `last` recommends nothing)."""
    experiments = pl.DataFrame(
        {name: np.asarray(events["arm_names"][name])[arms] for name, arms in events["arms"].items()}
    ).to_struct()
    frame = pl.DataFrame(
        {
            "last": events["last"],
            "timestamp": events["timestamp"],
            "user": events["user"],
            "track": events["track"],
            "time": events["time"],
            "latency": events["latency"],
            "recommendation": events["recommendation"],
            "experiments": experiments,
            "fallback": events["fallback"],
        }
    )
    last = pl.col("last")
    logged = frame.select(
        pl.when(last).then(pl.lit("last")).otherwise(pl.lit("next")).alias("message"),
        "timestamp",
        "user",
        "track",
        "time",
        "latency",
        pl.col("latency").alias("work_time"),  # one request at a time: all of it is work
        pl.when(last).then(None).otherwise("recommendation").alias("recommendation"),
        "experiments",
        pl.when(last)
        .then(None)
        .when("fallback")
        .then(pl.lit("top_pop"))
        .otherwise(pl.lit("sasrec_i2i"))
        .alias("recommender"),
        pl.lit([], dtype=pl.List(pl.String)).alias("failed"),
        pl.lit(SYNTHETIC_VERSION).alias("data_version"),
        pl.lit(None, dtype=pl.Float64).alias("propensity"),  # its recommenders state none
    )
    assert logged.columns == list(FIELDS)  # the event record's fields, in its order
    return logged


def json_lines(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_ndjson(buffer)
    return buffer.getvalue()


def write_log(
    events: dict,
    directory: Path,
    replicas: int = 1,
    max_bytes: int = 0,
    seed: int = 0,
) -> list[Path]:
    """Write the events as `replicas` service replicas would: each request lands on a random
    replica (so one session can span folders), each replica logs to `replica-<i>/events.jsonl`
    and rotates it at about `max_bytes` (0: never), newest backup `.1`, oldest the highest."""
    rng = np.random.default_rng(seed)
    frame = to_frame(events)
    replica_of = rng.integers(0, replicas, frame.height)
    written: list[Path] = []
    for replica in range(replicas):
        folder = Path(directory) / f"replica-{replica}"
        folder.mkdir(parents=True, exist_ok=True)
        data = json_lines(frame.filter(pl.Series(replica_of == replica)))
        line_ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 0x0A) + 1
        file_of = (line_ends - 1) // max_bytes if max_bytes else np.zeros(len(line_ends), int)
        cuts = [0, *line_ends[np.flatnonzero(np.diff(file_of)) + 1 - 1].tolist(), len(data)]
        chunks = [data[a:b] for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
        for age, chunk in enumerate(reversed(chunks)):
            path = folder / file_name(age)
            path.write_bytes(chunk)
            written.append(path)
    return written


def events_frame(events: dict, experiment: str = "AB") -> pl.DataFrame:
    """The table the reader and assignment produce for a generated log, without the files:
    for tests and benchmarks that need many repetitions."""
    names = events["arm_names"][experiment]
    codes = pl.Series(events["arms"][experiment], dtype=pl.UInt32)
    return pl.DataFrame(
        {
            "seq": np.arange(len(events["user"]), dtype=np.uint32),
            "last": events["last"],
            "timestamp": events["timestamp"],
            "user": events["user"],
            "time": events["time"],
            "latency": events["latency"],
            "arm": codes.replace_strict(dict(enumerate(names)), return_dtype=pl.Enum(names)),
        }
    ).select(
        "seq",
        pl.when("last").then(pl.lit("last")).otherwise(pl.lit("next")).alias("message"),
        "timestamp",
        "user",
        "time",
        "latency",
        "arm",
    )


def write_scripted_log(
    config: Config, directory: Path, users: int, tracks: int, listened: float = 0.8
) -> None:
    """A log written by botify's own Service (in-process, botify.inprocess) for `config`: each
    user plays one session of `tracks` recommended tracks, each listened to `listened`, from
    track `user % 100`; events one second apart. Real events, with every field the service
    logs, for the report's tests and benchmarks that need the service's own behaviour."""
    log = EventLog(directory, max_bytes=0, backups=0)
    clock = iter(range(1_700_000_000_000, 1_800_000_000_000, 1000))
    service = InProcessRecommender(config, events=log, clock_ms=lambda: next(clock))
    try:
        for user in range(users):
            track = user % 100
            for _ in range(tracks):
                track = service.recommend_next(user, track, listened)
            service.end_session(user, track, listened)
    finally:
        log.close()
