"""The Spark reader counts every line as offline.logs.reading counts it, on the same files: the
account (lines, each kind with its first lines named, duplicates, cut final lines, experiments)
and the usable events in reading order."""

from __future__ import annotations

from offline.logs.account import account_of
from offline.logs.logfiles import find_log_files
from offline.logs.reading import event_schema, read_log
from offline.logs.spark_reading import read_spark_log
from tests.spark.messy_log import write_messy_log

SCHEMA = ["message", "timestamp", "user", "time", "latency", "experiments"]
OPTIONAL = ["recommender", "recommendation", "data_version"]


def named(lines) -> list[str]:
    return [str(line) for line in lines]


def test_every_line_counted_as_the_polars_reader_counts_it(spark, tmp_path):
    folder = write_messy_log(tmp_path / "log")
    log = read_log(find_log_files([str(folder)]), event_schema(SCHEMA), event_schema(OPTIONAL))
    expected = account_of(log)
    read = read_spark_log(spark, [str(folder)], SCHEMA, OPTIONAL)
    got = read.account

    assert got.files == expected.files
    assert (got.lines, got.events, got.bad) == (expected.lines, expected.events, expected.bad)
    assert got.truncated == expected.truncated == [f"{folder}/r0/events.jsonl"]
    assert got.experiments == expected.experiments == ["A", "B"]
    assert named(got.bad_examples) == named(expected.bad_examples)
    assert list(got.skipped) == list(expected.skipped)
    for kind, skipped in expected.skipped.items():
        assert got.skipped[kind].lines == skipped.lines, kind
        assert named(got.skipped[kind].examples) == named(skipped.examples), kind
    # ODD_LINES twice (12), goods[:5] twice, and the whole event without its newline
    assert expected.duplicates == 18 and expected.skipped["message"].lines == 4

    columns = ["message", "timestamp", "user", "time", "latency", "recommender"]
    events = read.events.orderBy("seq").select(*columns).collect()
    assert [tuple(row) for row in events] == log.events.select(columns).rows()
    seq = [row["seq"] for row in read.events.orderBy("seq").select("seq").collect()]
    assert len(set(seq)) == len(seq) == expected.events
