"""The `polars` engine of the report's aggregation (offline.report.aggregate): one machine, in
bounded memory whatever the size of the log.

Two passes:
1. Reading, a piece at a time (offline.logs.pieces: JSON lines in runs of whole lines, or the
   Parquet files of a compacted folder, scanned lazily for the columns wanted): every line judged
   and counted as offline.logs.reading counts it, the usable rows written to Arrow files (lz4)
   partitioned by user (offline.logs.partition) in a temporary folder (under TMPDIR). The log's
   account is then whole but for the duplicates, and `choose` names the experiment.
2. Aggregating, one partition at a time: duplicates dropped (a line's copies are its user's),
   each event's arm, sessions and the unit sums by the report's own code
   (offline.report.metrics.unit_sums), the serving counts; then the partitions' rows are put
   together and their counts summed.

Memory: a piece (PIECE_BYTES of JSON, 64 MiB) in the first pass, a partition (PARTITION_BYTES of
JSON, about a million events) in the second, and what the report keeps: the unit and session
rows, and each of the experiment's events' latency (8 bytes) for the exact p50 and p99.

Options (tests): `partition_bytes` and `piece_bytes`, to split even a small log.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from botify.arms import arm_order
from offline.logs.account import Accountant
from offline.logs.errors import InputError
from offline.logs.partition import (
    PARTITION_BYTES,
    Partitions,
    drop_duplicates,
    partition_count,
)
from offline.logs.pieces import PIECE_BYTES, usable_rows
from offline.logs.reading import SCHEMA, Schema, reading_schema
from offline.logs.sources import LogSources, open_sources
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
from offline.report.metrics import unit_sums
from offline.report.serving import (
    SERVING_FIELDS,
    link_counts,
    merge_links,
    merge_versions,
    version_counts,
)

SEQ_FILE_SHIFT = 40  # seq = file index << 40 | line: reading order in one int64


@dataclass
class Partitioned:
    """The first pass's result: the account so far and the partitions, open for reading."""

    sources: LogSources
    accountant: Accountant
    partitions: Partitions


def option(options: Mapping[str, str], name: str, default: int) -> int:
    try:
        value = int(options.get(name, default))
    except ValueError:
        value = 0
    if value <= 0:
        raise InputError(f"engine option {name}: a positive number of bytes, got {options[name]!r}")
    return value


def partitioned(
    paths: list[str], schema: Schema, optional: Schema | None, folder: Path, options: Mapping
) -> Partitioned:
    """The first pass: every piece read, judged and counted; usable rows into partitions."""
    sources = open_sources(paths, option(options, "piece_bytes", PIECE_BYTES))
    count = partition_count(sources.size, option(options, "partition_bytes", PARTITION_BYTES))
    accountant = Accountant(sources.files)
    partitions = Partitions(folder, count, in_reading_order=sources.in_reading_order)
    result = Partitioned(sources, accountant, partitions)
    parsed = reading_schema(schema, optional)
    try:
        for rows in usable_rows(sources.pieces(parsed, accountant), accountant, schema, optional):
            result.partitions.write(rows)
    finally:
        result.partitions.close()
    return result


def with_seq(rows: pl.DataFrame) -> pl.DataFrame:
    """Rows with `seq`: their reading order (file, then line) as one number."""
    return rows.with_columns(
        seq=pl.col("file").cast(pl.Int64) * (1 << SEQ_FILE_SHIFT) + pl.col("line")
    )


def partitions_read(result: Partitioned) -> Iterator[pl.DataFrame]:
    """Each partition's rows in reading order, duplicates dropped and counted, with `seq`."""
    for k in range(len(result.partitions)):
        rows = result.partitions.read(k)
        if rows is None:
            continue
        rows, copies, first = drop_duplicates(rows)
        if copies:
            result.accountant.found_copies(copies, first)
        yield with_seq(rows)


def arm_labels(result: Partitioned, experiment: str) -> dict[str, str | None]:
    """The arm each `experiments` text gives the experiment (reading's rule: a non-empty
    string)."""
    labels: dict[str, str | None] = {}
    for text, value in result.accountant.objects.items():
        label = (value or {}).get(experiment)
        labels[text] = label if isinstance(label, str) and label else None
    return labels


@dataclass
class Totals:
    """The experiment's tables, gathered a partition at a time (no unit is in two)."""

    units: list[pl.DataFrame] = field(default_factory=list)
    sessions: list[pl.DataFrame] = field(default_factory=list)
    links: list[pl.DataFrame] = field(default_factory=list)
    versions: list[pl.DataFrame] = field(default_factory=list)
    latency: dict[str, list[pl.Series]] = field(default_factory=dict)
    span: tuple[int, int] | None = None

    def add(self, events: pl.DataFrame) -> None:
        """The experiment's events of one partition, with `arm`."""
        units, sessions = unit_sums(events)
        self.units.append(units)
        self.sessions.append(sessions)
        self.links.append(link_counts(events))
        self.versions.append(version_counts(events))
        by_arm = events.select("arm", "latency").partition_by("arm", as_dict=True)
        for (arm,), part in by_arm.items():
            self.latency.setdefault(str(arm), []).append(part["latency"])
        low, high = events.select(low=pl.min("timestamp"), high=pl.max("timestamp")).row(0)
        if self.span is not None:
            low, high = min(low, self.span[0]), max(high, self.span[1])
        self.span = (int(low), int(high))

    def arms(self) -> pl.DataFrame:
        """ARMS: each arm's exact latency quantiles (metrics.arm_latency's)."""
        rows = []
        for arm, parts in self.latency.items():
            ms = pl.concat(parts) * 1000
            p50, p99 = ms.quantile(0.5, "linear"), ms.quantile(0.99, "linear")
            rows.append(
                {"arm": arm, "events": ms.len(), "latency_p50_ms": p50, "latency_p99_ms": p99}
            )
        return pl.DataFrame(rows, schema=ARMS)


def gathered(parts: list[pl.DataFrame], schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    return pl.concat(parts) if parts else pl.DataFrame(schema=dict(schema))


def unit_rows(paths: list[str], choose: Choose, options: Mapping[str, str]) -> UnitRows:
    with tempfile.TemporaryDirectory(prefix="botify-ab-") as folder:
        result = partitioned(paths, SCHEMA, SERVING_FIELDS, Path(folder), options)
        experiment = choose(result.accountant.account())
        labels = arm_labels(result, experiment)
        # an Enum in arm order: sessions sort by arm, and numbers sort faster than strings
        arm_type = pl.Enum(sorted({a for a in labels.values() if a}, key=arm_order) or ["C"])
        arm = pl.col("experiments").replace_strict(labels, return_dtype=arm_type)
        totals = Totals()
        events = unassigned = 0
        for rows in partitions_read(result):
            events += rows.height
            assigned = rows.with_columns(arm=arm).filter(pl.col("arm").is_not_null())
            unassigned += rows.height - assigned.height
            if assigned.height:
                totals.add(assigned)
    return UnitRows(
        account=result.accountant.account(events),
        experiment=experiment,
        units=gathered(totals.units, UNITS),
        sessions=gathered(totals.sessions, SESSIONS),
        arms=totals.arms(),
        links=merge_links(totals.links) if totals.links else gathered([], LINKS),
        versions=merge_versions(totals.versions) if totals.versions else gathered([], VERSIONS),
        span=totals.span or (0, 0),
        unassigned_events=unassigned,
        lost=result.sources.lost,
    )


def user_rows(paths: list[str], check: Check, options: Mapping[str, str]) -> UserRows:
    with tempfile.TemporaryDirectory(prefix="botify-ab-") as folder:
        result = partitioned(paths, SCHEMA, None, Path(folder), options)
        check(result.accountant.account())
        units, events = [], 0
        for rows in partitions_read(result):
            events += rows.height
            unit, _ = unit_sums(rows.with_columns(arm=pl.lit("pre")))
            units.append(unit.drop("arm"))
    return UserRows(account=result.accountant.account(events), units=gathered(units, USERS))
