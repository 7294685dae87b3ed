"""Listens in Spark: offline.learn.listens' rules on a log of any size, for `botify train --engine
spark`.

The same steps in the same order, each counted in the same LogAccount: lines read by
offline.logs.spark_reading (reading's rules), above --max-bad-lines an error; only one arm's
events with --experiment/--arm; users with a single event left out; sessions marked per user
(events in (timestamp, reading order), a session closed by its `last`, the events after a user's
final `last` an incomplete session) before events naming tracks outside the catalog are dropped,
so that a dropped event cannot join two sessions (positions keep their gaps).

The listens are a DataFrame: user, session (the user's session number, 0.. by start), position,
track (the catalog's dense index), time (the listened fraction, float), timestamp.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from offline.learn.listens import LogAccount, account_of_reading
from offline.learn.tracks import Tracks
from offline.logs.errors import InputError
from offline.logs.spark_reading import read_spark_log

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

FIELDS = ["message", "timestamp", "user", "track", "time"]


def of_arm(events: DataFrame, experiments: list[str], arm: tuple[str, str]) -> DataFrame:
    """The events of arm `arm` = (experiment, arm); an experiment or arm the log never names is
    an error naming those it does, as listens.of_arm says it."""
    from pyspark.sql import functions as F

    experiment, name = arm
    if experiment not in experiments:
        raise InputError(
            f"experiment {experiment!r} is not in the logs; experiments found: "
            f"{', '.join(experiments) or 'none'}"
        )
    label = F.from_json("experiments", "map<string,string>")[experiment]
    labels = [r[0] for r in events.select(label).distinct().collect() if r[0] is not None]
    if name not in labels:
        found = ", ".join(sorted(labels))
        raise InputError(f"arm {name!r} of {experiment} is not in the logs; arms found: {found}")
    return events.filter(label == name).drop("experiments")


def read_spark_listens(
    spark: SparkSession,
    paths: list[str],
    tracks: Tracks,
    max_bad_lines: float = 0.01,
    max_unknown_tracks: float = 0.01,
    arm: tuple[str, str] | None = None,
) -> tuple[DataFrame, LogAccount]:
    from pyspark import StorageLevel
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    log = read_spark_log(spark, paths, FIELDS if arm is None else [*FIELDS, "experiments"])
    read = log.account
    account = account_of_reading(read, max_bad_lines)
    if not read.events:
        raise InputError(f"no events in {', '.join(paths)}")
    events = log.events
    if arm is not None:
        events = of_arm(events, read.experiments, arm)
        account.arm = "=".join(arm)
    per_user = events.groupBy("user").agg(F.count("*").alias("n"))
    events = events.join(per_user, "user")
    summary = events.agg(
        F.count("*").alias("events"),
        F.min("timestamp").alias("first"),
        F.max("timestamp").alias("last"),
        F.sum((F.col("n") == 1).cast("int")).alias("single"),
    ).first()
    assert summary is not None
    account.events = summary["events"]
    account.other_arm_events = read.events - account.events
    account.first_ms, account.last_ms = summary["first"], summary["last"]
    account.single_event_users = summary["single"] or 0
    if not account.events:
        raise InputError(f"no events in {', '.join(paths)}")

    # Sessions, before unknown tracks are dropped.
    in_order = Window.partitionBy("user").orderBy("timestamp", "seq")
    is_last = F.col("message") == "last"
    marked = (
        events.filter(F.col("n") > 1)
        .withColumn("start", F.coalesce(F.lag(is_last.cast("int")).over(in_order), F.lit(1)))
        .withColumn("session", F.sum("start").over(in_order) - 1)
    )
    in_session = Window.partitionBy("user", "session")
    marked = marked.withColumns(
        {
            "position": F.row_number().over(in_session.orderBy("timestamp", "seq")) - 1,
            "complete": F.max(is_last.cast("int")).over(in_session) == 1,
        }
    )
    catalog = spark.createDataFrame(
        list(zip(tracks.ids.tolist(), range(len(tracks)), strict=True)), "track long, index long"
    )
    marked = marked.join(F.broadcast(catalog), "track", "left").persist(
        StorageLevel.MEMORY_AND_DISK
    )
    unknown = marked.filter(F.col("index").isNull())
    counts = marked.agg(F.count("*").alias("events"), F.count("index").alias("known")).first()
    assert counts is not None
    account.unknown_track_events = counts["events"] - counts["known"]
    if account.unknown_track_events:
        examples = [
            r[0] for r in unknown.select("track").distinct().orderBy("track").limit(3).collect()
        ]
        account.unknown_track_examples = examples
        share = account.unknown_track_events / counts["events"]
        if share > max_unknown_tracks:
            raise InputError(
                f"{account.unknown_track_events:,} of {counts['events']:,} events ({share:.2%}) "
                f"name tracks that are not in the catalog {tracks.path} (e.g. "
                f"{', '.join(map(str, examples))}), above --max-unknown-tracks "
                f"{max_unknown_tracks:g}: is it the catalog the service served?"
            )
    listens = marked.filter(F.col("index").isNotNull()).select(
        "user",
        "session",
        "position",
        F.col("index").alias("track"),
        # float32, as listens.Listens holds it: the same sums, so the same ties
        F.least(F.greatest("time", F.lit(0.0)), F.lit(1.0))
        .cast("float")
        .cast("double")
        .alias("time"),
        "timestamp",
        "complete",
    )
    if not counts["known"]:
        raise InputError(f"no usable listens in {', '.join(paths)} (every user has a single event)")
    totals = (
        listens.groupBy("user", "session")
        .agg(F.count("*").alias("n"), F.first("complete").alias("complete"))
        .agg(
            F.count("*").alias("sessions"),
            F.sum((~F.col("complete")).cast("int")).alias("incomplete"),
            F.countDistinct("user").alias("users"),
            F.sum("n").alias("listens"),
        )
        .first()
    )
    assert totals is not None
    account.sessions, account.incomplete_sessions = totals["sessions"], totals["incomplete"]
    account.users, account.listens = totals["users"], totals["listens"]
    return listens.drop("complete"), account
