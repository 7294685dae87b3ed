"""The `spark` engine of the report's aggregation (offline.report.aggregate): the polars engine's
tables computed on a Spark cluster, for logs that outgrow one machine.

    botify ab LOG... --engine spark [--master local[N]|spark://HOST:PORT|yarn] [--conf spark.K=V]

Reading is offline.logs.spark_reading (reading's rules, the same LogAccount); the loss records
are offline.logs.spark_losses'. The aggregation is Spark's DataFrame API only (no Python UDF, so
nothing but the JVM touches an event), following the contract's definitions as the polars
engine's own code does (offline.report.metrics.unit_sums, serving.link_counts, version_counts):
- an event's arm: the distinct `experiments` texts are few; each is decoded once on the driver by
  reading's rule (a non-empty string label) and joined back as a small broadcast table;
- sessions: a unit's events in (timestamp, seq) order; an event's session is the number of `last`
  events before it in its unit, complete when the unit has a `last` after or at it;
- latency quantiles: Spark's exact `percentile` (linear interpolation, as polars' "linear").
Only the tables (one row per unit, per complete session, per arm, link and data version) come
back to the driver, through Arrow.

Reads JSON lines (local folders, `hdfs://`, `s3a://`); a folder that `botify logs compact` wrote
is read by the polars engine (said as such).

Options (offline.report.ab passes them): `master` (offline.logs.spark_session's; local[*] by
default) and any `spark.KEY` setting (--conf).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from offline.logs.compacted import is_compacted
from offline.logs.errors import InputError
from offline.logs.reading import SCHEMA
from offline.logs.spark_losses import spark_loss_records
from offline.logs.spark_reading import read_spark_log
from offline.logs.spark_session import DEFAULT_MASTER, master, spark_session
from offline.report.aggregate import (
    ARMS,
    LINKS,
    SESSIONS,
    UNITS,
    USERS,
    VERSIONS,
    Check,
    Choose,
    UnitRows,
    UserRows,
)
from offline.report.serving import SERVING_FIELDS

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

UNIT = ["user", "arm"]


def session_of(options: Mapping[str, str]) -> SparkSession:
    """The process's Spark session on the options' master, with their spark.* settings."""
    url = options.get("master", DEFAULT_MASTER)
    try:
        master(url)
    except ValueError:
        raise InputError(
            f"--master {url!r}: not a Spark master (local[N], spark://HOST:PORT, yarn, k8s://...)"
        ) from None
    return spark_session(url, {k: v for k, v in options.items() if k.startswith("spark.")})


def check_json_lines(paths: list[str]) -> None:
    for path in paths:
        if "://" not in path and is_compacted(Path(path)):
            raise InputError(
                f"{path} is a compacted folder (botify logs compact): --engine spark reads the "
                "service's JSON lines; --engine polars reads this folder"
            )


def to_polars(frame: DataFrame, schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """A small Spark table on the driver (through Arrow) at the contract's types."""
    table = pl.from_arrow(frame.toArrow())
    assert isinstance(table, pl.DataFrame)
    if table.height == 0:
        return pl.DataFrame(schema=dict(schema))
    return table.with_columns(pl.col(name).cast(dtype) for name, dtype in schema.items())


def with_arm(spark: SparkSession, events: DataFrame, experiment: str) -> DataFrame:
    """The experiment's events with `arm` (String); events without a label of it are dropped."""
    from pyspark.sql import functions as F

    texts = [row[0] for row in events.select("experiments").distinct().collect()]
    labels = []
    for text in texts:
        value = json.loads(text) if text is not None else None
        label = value.get(experiment) if isinstance(value, dict) else None
        if isinstance(label, str) and label:
            labels.append((text, label))
    if not labels:
        return events.limit(0).withColumn("arm", F.lit(None).cast("string"))
    arms = spark.createDataFrame(labels, "experiments string, arm string")
    return events.join(F.broadcast(arms), "experiments").drop("experiments")


def unit_sums(events: DataFrame, unit: list[str]) -> tuple[DataFrame, DataFrame]:
    """metrics.unit_sums in Spark: one row per unit (UNITS' sums) and one per session of it,
    with `session` (its number within the unit, by start) and `complete`."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    in_order = Window.partitionBy(*unit).orderBy("timestamp", "seq")
    before = in_order.rowsBetween(Window.unboundedPreceding, -1)
    is_last = (F.col("message") == "last").cast("long")
    marked = events.select(
        *unit,
        "timestamp",
        "seq",
        "time",
        (F.col("latency") * 1000).alias("latency_ms"),
        F.coalesce(F.sum(is_last).over(before), F.lit(0)).alias("session"),
        F.sum(is_last).over(Window.partitionBy(*unit)).alias("closed"),
    )
    sessions = marked.groupBy(*unit, "session").agg(
        F.count("*").alias("tracks"),
        F.sum("time").alias("time"),
        F.sum("latency_ms").alias("latency_ms"),
        F.min(F.struct("timestamp", "seq")).alias("first"),
        F.max("timestamp").alias("end_ms"),
        (F.col("session") < F.first("closed")).alias("complete"),
    )
    complete = F.col("complete")

    def of_complete(name: str, zero: int | float):
        return F.sum(F.when(complete, F.col(name)).otherwise(F.lit(zero)))

    units = sessions.groupBy(*unit).agg(
        F.sum("tracks").alias("events"),
        F.sum(F.when(~complete, F.col("tracks")).otherwise(F.lit(0))).alias("incomplete_events"),
        F.sum(complete.cast("long")).alias("sessions"),
        of_complete("tracks", 0).alias("tracks"),
        of_complete("time", 0.0).alias("time"),
        of_complete("latency_ms", 0.0).alias("latency_ms"),
        F.min("first").alias("first"),
    )
    units = units.select(
        *unit,
        *(name for name in UNITS if name not in (*UNIT, "first_ms", "first_seq")),
        F.col("first.timestamp").alias("first_ms"),
        F.col("first.seq").alias("first_seq"),
    )
    return units, sessions.filter(complete)


def session_rows(sessions: DataFrame) -> pl.DataFrame:
    """SESSIONS in order of unit and start (ties of end_ms keep the sessions' order)."""
    frame = to_polars(sessions.select(*SESSIONS, "session"), {**SESSIONS, "session": pl.Int64()})
    return frame.sort("user", "arm", "session").drop("session")


def link_counts(events: DataFrame) -> DataFrame:
    """serving.link_counts in Spark."""
    from pyspark.sql import functions as F

    nexts = events.filter(F.col("message") == "next")
    requests = nexts.groupBy("arm").agg(F.count("*").alias("requests"))
    answered = nexts.groupBy("arm", F.col("recommender").alias("link")).agg(
        F.count("*").alias("answered")
    )
    failed = (
        nexts.select("arm", F.explode("failed").alias("link"))
        .filter(F.col("link").isNotNull())
        .groupBy("arm", "link")
        .agg(F.count("*").alias("failed"))
    )
    return (
        answered.join(failed, ["arm", "link"], "full")
        .join(requests, "arm")
        .fillna(0, ["answered", "failed"])
        .select(*LINKS)
    )


def version_counts(events: DataFrame) -> DataFrame:
    from pyspark.sql import functions as F

    return events.groupBy("data_version").agg(
        F.count("*").alias("events"),
        F.min("timestamp").alias("first_ms"),
        F.max("timestamp").alias("last_ms"),
    )


def arm_latency(events: DataFrame) -> DataFrame:
    """ARMS: each arm's events and exact latency quantiles (ms), linear interpolation."""
    from pyspark.sql import functions as F

    ms = F.col("latency") * 1000
    return events.groupBy("arm").agg(
        F.count("*").alias("events"),
        F.percentile(ms, F.lit(0.5)).alias("latency_p50_ms"),
        F.percentile(ms, F.lit(0.99)).alias("latency_p99_ms"),
    )


def unit_rows(paths: list[str], choose: Choose, options: Mapping[str, str]) -> UnitRows:
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    check_json_lines(paths)
    spark = session_of(options)
    log = read_spark_log(spark, paths, list(SCHEMA), list(SERVING_FIELDS))
    experiment = choose(log.account)
    assigned = with_arm(spark, log.events, experiment).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        units, sessions = unit_sums(assigned, UNIT)
        span = assigned.agg(F.min("timestamp"), F.max("timestamp"), F.count("*")).first()
        assert span is not None  # an aggregate without grouping has one row
        low, high, count = span
        rows = UnitRows(
            account=log.account,
            experiment=experiment,
            units=to_polars(units, UNITS),
            sessions=session_rows(sessions),
            arms=to_polars(arm_latency(assigned), ARMS),
            links=to_polars(link_counts(assigned), LINKS),
            versions=to_polars(version_counts(assigned), VERSIONS),
            span=(int(low), int(high)) if count else (0, 0),
            unassigned_events=log.account.events - int(count),
            lost=spark_loss_records(spark, log.files),
        )
    finally:
        assigned.unpersist()
        log.events.unpersist()
    return rows


def user_rows(paths: list[str], check: Check, options: Mapping[str, str]) -> UserRows:
    check_json_lines(paths)
    spark = session_of(options)
    log = read_spark_log(spark, paths, list(SCHEMA))
    check(log.account)
    units, _ = unit_sums(log.events, ["user"])
    return UserRows(account=log.account, units=to_polars(units, USERS))
