"""The report in two steps (offline.report.aggregate, then the statistics) gives the report that
`botify ab` gave before it, every number and every line (tests/offline/awkward_expected: see
tests/offline/awkward_log.py)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import offline.report.polars_engine as polars_engine
from offline.logs.errors import InputError
from offline.logs.logfiles import find_log_files
from offline.logs.reading import read_log
from offline.report import aggregate
from offline.report.assignment import assign
from offline.report.metrics import unit_sums
from offline.report.serving import SERVING_FIELDS
from tests.offline.awkward_log import expected, run_report, write_awkward_log


@pytest.fixture(scope="module")
def awkward(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("awkward")
    write_awkward_log(root)
    return root


def test_the_two_step_report_is_the_report_of_before(awkward, tmp_path, monkeypatch, capsys):
    outputs = run_report(awkward, {}, tmp_path / "run", monkeypatch, capsys)
    for name, text in outputs.items():
        assert text == expected(name), name


def test_many_pieces_and_partitions_give_the_same_report(awkward, tmp_path, monkeypatch, capsys):
    """A log read in pieces of 5 kB into partitions of 100 kB (about 18 of each per file,
    9 partitions) gives the same numbers. One reason may differ: polars reads a line that is
    JSON but not an object (`[1, 2]`) as a row of nulls, so reading (whole or in pieces) names
    it "missing or invalid 'message'" unless a line of its piece is not JSON at all, which sends
    the piece line by line and names it "not a JSON object"; either way it is counted unreadable."""
    monkeypatch.setattr(polars_engine, "PIECE_BYTES", 5_000)
    monkeypatch.setattr(polars_engine, "PARTITION_BYTES", 100_000)
    outputs = run_report(awkward, {}, tmp_path / "run", monkeypatch, capsys)
    named = "(missing or invalid 'message')", "(not a JSON object)"
    for name, text in outputs.items():
        assert text.replace(*named) == expected(name), name


def test_the_aggregation_rows_are_the_in_memory_reading_s(awkward, monkeypatch):
    """UNITS and SESSIONS, split over partitions, equal those of the whole log read in memory
    (offline.logs.reading, report.assignment, report.metrics.unit_sums), row for row."""
    monkeypatch.setattr(polars_engine, "PARTITION_BYTES", 100_000)
    rows = aggregate.unit_rows([str(awkward / "log")], lambda account: "AB")
    whole = assign(read_log(find_log_files([str(awkward / "log")]), optional=SERVING_FIELDS), "AB")
    units, sessions = unit_sums(whole.events)
    arm = pl.Enum(rows.arm_names)
    assert rows.arm_names == whole.arms
    keys = ["user", "arm"]
    # `first_seq` is the engine's own numbering of reading order
    in_memory = units.with_columns(pl.col("arm").cast(arm)).sort(keys).drop("first_seq")
    assert rows.units.drop("first_seq").equals(in_memory)
    assert rows.sessions.equals(sessions.with_columns(pl.col("arm").cast(arm)))
    assert rows.units.schema == {**aggregate.UNITS, "arm": arm}
    assert rows.account.events == whole.events.height + whole.unassigned_events
    assert rows.account.duplicates == 1 and rows.account.bad == 5


def test_an_unknown_or_missing_engine_is_named(monkeypatch):
    with pytest.raises(InputError, match="--engine 'nope': unknown; engines: polars, spark"):
        aggregate.engine_module("nope")
    monkeypatch.setitem(aggregate.ENGINES, "ghost", "offline.report.no_such_engine")
    with pytest.raises(InputError, match="--engine ghost is not available here: No module"):
        aggregate.engine_module("ghost")
