"""`botify ab --engine spark` gives the polars engine's report on the awkward log
(tests/offline/awkward_log.py: sessions cut by rotation, two replicas, switched users, ties, loss
records of both kinds, bad and duplicate lines, a cut final line, an earlier period for CUPED):
the aggregation's tables equal to 1e-9, every line counted alike, and the report's outputs."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import tests.offline.awkward_log as awkward_log
from offline.logs.errors import InputError
from offline.report import ab, aggregate
from tests.offline.awkward_log import expected, run_report, write_awkward_log
from tests.spark.conftest import MASTER

OPTIONS = {"master": MASTER}


@pytest.fixture(scope="module")
def awkward(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("awkward")
    write_awkward_log(root)
    return root


def assert_same_account(got, want) -> None:
    assert got.files == want.files
    assert (got.lines, got.events, got.bad) == (want.lines, want.events, want.bad)
    assert got.truncated == want.truncated
    assert got.experiments == want.experiments
    assert {k: s.lines for k, s in got.skipped.items()} == {
        k: s.lines for k, s in want.skipped.items()
    }
    for kind, skipped in want.skipped.items():
        assert [b.where for b in got.skipped[kind].examples] == [
            b.where for b in skipped.examples
        ], kind


def assert_same_table(got: pl.DataFrame, want: pl.DataFrame, what: str) -> None:
    assert got.height > 0, what
    try:
        assert_frame_equal(got, want, check_exact=False, rel_tol=1e-9, abs_tol=1e-9)
    except AssertionError as error:
        raise AssertionError(f"{what}: {error}") from None


def test_botify_ab_on_spark_gives_the_polars_engine_s_tables_and_report(
    spark, awkward, tmp_path, monkeypatch, capsys
):
    """One `botify ab --engine spark` run (Spark is slow to start a job: one run serves both):
    the tables it aggregated (kept as they pass to the statistics) equal the polars engine's,
    and report.md, effects.csv, path.csv (the sequential looks), ab_result.json and stderr are
    those botify ab gave (tests/offline/awkward_expected). A line that is JSON but no object
    (`[1, 2]`) is named by each reader's own reason; both count it unreadable."""
    kept: dict[str, object] = {}

    def keeping(name: str):
        real = getattr(ab, name)

        def call(*args, **kwargs):
            kept[name] = real(*args, **kwargs)
            return kept[name]

        monkeypatch.setattr(ab, name, call)

    keeping("unit_rows")
    keeping("user_rows")
    argv = list(awkward_log.ARGV)
    at = argv.index("--pre")
    argv[at:at] = ["--engine", "spark", "--master", MASTER]
    monkeypatch.setattr(awkward_log, "ARGV", argv)
    outputs = run_report(awkward, {}, tmp_path / "run", monkeypatch, capsys)
    not_an_object = "replica-0/events.jsonl.7:26 (not a JSON object)"  # the `[1, 2]` line
    for name, text in outputs.items():
        spark_said = not_an_object.replace("a JSON object", "valid JSON")
        assert text.replace(spark_said, not_an_object) == expected(name), name

    got, got_pre = kept["unit_rows"], kept["user_rows"]
    assert isinstance(got, aggregate.UnitRows) and isinstance(got_pre, aggregate.UserRows)
    want = aggregate.unit_rows(["log"], lambda account: "AB")  # in run/, as botify ab
    assert_same_account(got.account, want.account)
    assert got.account.duplicates == want.account.duplicates == 1
    assert got.arm_names == want.arm_names == ["C", "T1", "T2"]
    for name in ("units", "sessions", "arms", "links", "versions"):
        assert_same_table(getattr(got, name), getattr(want, name), name)
    assert got.span == want.span
    assert got.unassigned_events == want.unassigned_events
    assert got.lost == want.lost and len(got.lost) == 2
    want_pre = aggregate.user_rows(["pre"], lambda account: None)
    assert_same_account(got_pre.account, want_pre.account)
    assert_same_table(got_pre.units, want_pre.units, "pre units")


def test_a_compacted_folder_or_a_bad_master_is_named(tmp_path):
    (tmp_path / "compacted.json").write_text("{}")
    with pytest.raises(InputError, match="compacted folder .* --engine polars reads"):
        aggregate.unit_rows([str(tmp_path)], lambda account: "AB", "spark", OPTIONS)
    with pytest.raises(InputError, match="--master 'nowhere': not a Spark master"):
        aggregate.unit_rows(["log"], lambda account: "AB", "spark", {"master": "nowhere"})
