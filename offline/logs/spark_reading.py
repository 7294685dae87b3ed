"""Reading botify's event logs in Spark, every line counted as offline.logs.reading counts it.

The same rules, in Spark SQL (reading.py says why each is so):
- files: offline.logs.spark_files (logfiles' order, on any file system Spark reaches); lines split
  at "\\n" only; a blank line (empty, or a lone "\\r") is no line;
- a final line without its newline that is not a JSON object is a write cut off by a copy: the
  file is named in `truncated` and the line is not counted (judged on the driver by reading's own
  json_error);
- a line is unreadable when it is not one JSON object (Spark's parser, without NaN or Infinity,
  single quotes or text after the object), when a field of `schema` is missing, of the wrong type
  or not finite, or when `experiments` is not an object; it holds an impossible value (a kind of
  its own) by reading.IMPOSSIBLE, checked where the field is present;
- a usable line whose content is that of an earlier usable line is a duplicate (two 64-bit
  hashes of the line, as reading does it), dropped and counted apart.
The account is offline.logs.account's LogAccount, the first few lines of each kind named by
file:line in reading order.

Known differences, for lines the service never writes: a key given twice in one object is read
by Spark as its last value (polars: its first); an object followed by a stray "}" is read.

Events come out as a DataFrame of the fields asked for and `seq`: file index * 2^40 + line
number, which increases in reading order, as the contract (offline.report.aggregate) asks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botify.events import FIELDS, MESSAGES
from offline.logs.account import LogAccount
from offline.logs.reading import (
    DUPLICATE,
    KINDS,
    MAX_EXAMPLES,
    RANGE_REASONS,
    UNREADABLE,
    BadLine,
    Skipped,
    json_error,
)
from offline.logs.spark_files import LogFile, final_line, find_spark_files

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

LINE_BITS = 40  # seq = file index << LINE_BITS | line number
NOT_JSON = "not valid JSON"
# A "}" then a "{" outside strings: a second object on the line (Spark's parser reads the first).
TWO_OBJECTS = r'^(?:[^"]|"(?:[^"\\]|\\.)*")*?\}\s*\{'

# The Spark SQL type each of the event's Python types is read as (`experiments` as its text).
SQL_TYPES = {int: "bigint", float: "double", str: "string", dict: "string", list: "array<string>"}
# The fields checked for impossible values wherever an event has them (reading.RANGED).
RANGED = ("message", "user", "track", "time", "recommendation")


def impossible(name: str, value: Column) -> Column:
    """reading.IMPOSSIBLE's condition on `value`, in Spark."""
    if name == "message":
        return ~value.isin(*MESSAGES)
    if name == "time":
        return ~value.between(0.0, 1.0)
    return value < 0


@dataclass
class SparkLog:
    events: DataFrame  # the fields asked for and `seq`, usable lines only, duplicates dropped
    account: LogAccount
    files: list[LogFile]


def where(files: list[LogFile], seq: int) -> tuple[str, int]:
    return files[seq >> LINE_BITS].name, seq & ((1 << LINE_BITS) - 1)


def read_spark_log(
    spark: SparkSession,
    paths: list[str],
    schema: list[str],
    optional: list[str] | tuple[str, ...] = (),
) -> SparkLog:
    """Every usable event of the files named by `paths`, with the fields `schema` (required) and
    `optional` (null where an event lacks them), and the account of every line."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    files = find_spark_files(spark, paths)
    index = {file.uri: number for number, file in enumerate(files)}
    wanted = [*schema, *(name for name in optional if name not in schema)]
    parsed_names = [*RANGED, *(name for name in wanted if name not in RANGED)]
    struct = ", ".join(f"`{name}` {SQL_TYPES[FIELDS[name]]}" for name in parsed_names)
    options = {
        "mode": "PERMISSIVE",
        "allowNonNumericNumbers": "false",
        "allowSingleQuotes": "false",
    }

    text = spark.read.option("lineSep", "\n").text([file.uri for file in files])
    mapping = F.create_map(*[F.lit(x) for uri, n in index.items() for x in (uri, n)])
    located = text.select(
        "value",
        mapping[F.col("_metadata.file_path")].alias("file"),
        F.col("_metadata.file_block_start").alias("block"),
        F.monotonically_increasing_id().alias("id"),
    )
    # Line numbers: a split's lines are consecutive ids within its partition (the ids of one
    # read are the same in every job: the same files make the same partitions), and the splits
    # of a file are numbered on from the ones before it. One small job.
    splits = located.groupBy("file", "block").agg(
        F.count("*").alias("n"), F.min("id").alias("first_id")
    )
    numbering, lines_in = split_numbering(splits.collect())
    starts = spark.createDataFrame(
        numbering, "file int, block bigint, first_id bigint, start bigint"
    )
    line = F.col("start") + F.col("id") - F.col("first_id")
    numbered = located.join(F.broadcast(starts), ["file", "block"]).select(
        "value", "file", (F.col("file").cast("bigint") * (1 << LINE_BITS) + line).alias("seq")
    )

    # A final line without its newline that is not a JSON object: a write cut off (not a line).
    truncated, cut = [], []
    for number, file in enumerate(files):
        tail = final_line(spark, file)
        if tail.strip(b"\r \t") and json_error(tail) is not None:
            truncated.append(file.name)
            cut.append((number << LINE_BITS) + lines_in.get(number, 0))
    blank = (F.col("value") == "") | (F.col("value") == "\r")
    kept = numbered.filter(~blank & ~F.col("seq").isin(*cut) if cut else ~blank)

    fields = F.from_json("value", struct, options)
    rows = kept.select(
        "seq", "value", *[fields[name].alias(name) for name in parsed_names]
    ).withColumn("reason", reason_of(schema, parsed_names))
    rows = rows.withColumns(
        {
            "kind": kind_of(F.col("reason")),
            "h1": F.xxhash64("value"),
            "h2": F.xxhash64(F.lit("botify"), "value"),
        }
    ).drop("value")
    rows = rows.persist(StorageLevel.MEMORY_AND_DISK)

    # Duplicates: usable lines whose content an earlier usable line had.
    usable = rows.filter(F.col("reason").isNull())
    repeated = (
        usable.groupBy("h1", "h2")
        .agg(F.count("*").alias("copies"), F.min("seq").alias("first_seq"))
        .filter("copies > 1")
        .drop("copies")
    )
    flagged = usable.join(repeated, ["h1", "h2"], "left").withColumn(
        "copy", F.col("first_seq").isNotNull() & (F.col("seq") != F.col("first_seq"))
    )
    copies = flagged.filter("copy").select("seq", "first_seq")
    events = flagged.filter(~F.col("copy")).select(*wanted, "seq")

    account = count_lines(spark, files, rows, copies, truncated)
    texts = []
    if "experiments" in wanted:
        texts = [r[0] for r in usable.select("experiments").distinct().collect()]
    account.experiments = sorted({name for text in texts for name in object_keys(text)})
    return SparkLog(events, account, files)


def object_keys(text: str) -> list[str]:
    """The keys of an `experiments` text (Spark read it as an object; Python's reader decides)."""
    try:
        value = json.loads(text)
    except ValueError:
        return []
    return list(value) if isinstance(value, dict) else []


def split_numbering(splits: list) -> tuple[list[tuple[int, int, int, int]], dict[int, int]]:
    """(file, block, first id, line number of its first line) of each split, and the number of
    lines of each file."""
    numbering: list[tuple[int, int, int, int]] = []
    lines_in: dict[int, int] = {}
    for row in sorted(splits, key=lambda r: (r["file"], r["block"])):
        start = lines_in.get(row["file"], 0) + 1
        numbering.append((row["file"], row["block"], row["first_id"], start))
        lines_in[row["file"]] = start + row["n"] - 1
    return numbering, lines_in


def reason_of(schema: list[str], parsed: list[str]) -> Column:
    """Why a line cannot be used, or null when it can: reading.invalid_reason's order (not one
    JSON object; a field of `schema` missing or invalid; not finite; an impossible value), then
    an `experiments` that is not an object."""
    from pyspark.sql import functions as F

    trimmed = F.trim(F.col("value"), F.lit(" \t\r"))
    one_object = (
        trimmed.startswith("{")
        & trimmed.endswith("}")
        & F.json_object_keys("value").isNotNull()
        & ~F.col("value").rlike(TWO_OBJECTS)
    )
    checks = [(~one_object, NOT_JSON)]
    checks += [(F.col(name).isNull(), f"missing or invalid {name!r}") for name in schema]
    checks += [
        (F.isnan(name) | (F.abs(name) == float("inf")), f"{name!r} is not finite")
        for name in schema
        if FIELDS[name] is float
    ]
    checks += [
        (F.col(name).isNotNull() & impossible(name, F.col(name)), RANGE_REASONS[name])
        for name in RANGED
        if name in parsed
    ]
    if "experiments" in schema:
        as_object = F.from_json("experiments", "map<string,string>")
        checks.append((as_object.isNull(), "'experiments' is not an object"))
    reason = F.lit(None).cast("string")
    for condition, text in reversed(checks):
        reason = F.when(condition, F.lit(text)).otherwise(reason)
    return reason


def kind_of(reason: Column) -> Column:
    from pyspark.sql import functions as F

    kind = F.when(reason.isNotNull(), F.lit(UNREADABLE))
    for name, text in RANGE_REASONS.items():
        kind = F.when(reason == text, F.lit(name)).otherwise(kind)
    return kind


def count_lines(
    spark: SparkSession,
    files: list[LogFile],
    rows: DataFrame,
    copies: DataFrame,
    truncated: list[str],
) -> LogAccount:
    """The account: lines, unusable ones by kind with the first few of each, duplicates with
    the line each repeats."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    counts = {r["kind"]: r["count"] for r in rows.groupBy("kind").count().collect()}
    lines = sum(counts.values())
    usable = counts.pop(None, 0)
    unusable = rows.filter(F.col("kind").isNotNull())
    by_kind = Window.partitionBy("kind").orderBy("seq")
    first = (
        unusable.withColumn("rank", F.row_number().over(by_kind))
        .filter(F.col("rank") <= MAX_EXAMPLES)
        .select("kind", "seq", "reason")
        .collect()
    )

    def bad_line(seq: int, reason: str) -> BadLine:
        return BadLine(*where(files, seq), reason)

    skipped: dict[str, Skipped] = {}
    for kind in KINDS:
        if counts.get(kind):
            mine = sorted((r["seq"], r["reason"]) for r in first if r["kind"] == kind)
            skipped[kind] = Skipped(counts[kind], [bad_line(*met) for met in mine])
    first_bad = sorted((r["seq"], r["reason"]) for r in first)[:MAX_EXAMPLES]
    n_copies = copies.count()
    if n_copies:
        shown = copies.orderBy("seq").limit(MAX_EXAMPLES).collect()
        skipped[DUPLICATE] = Skipped(
            n_copies,
            [
                bad_line(r["seq"], "same as {}:{}".format(*where(files, r["first_seq"])))
                for r in shown
            ],
        )
    return LogAccount(
        files=[file.name for file in files],
        lines=lines,
        events=usable - n_copies,
        bad=sum(counts.values()),
        bad_examples=[bad_line(*met) for met in first_bad],
        skipped=skipped,
        truncated=truncated,
    )
