"""`botify ab` end to end: files in, report out; bad input gives one clear line."""

from __future__ import annotations

import csv
import subprocess
import sys

import numpy as np
import pytest

from lab.synthetic import cut, make_users, simulate, write_log
from offline.report.ab import main
from tests.offline.helpers import event, synthetic_log, write_events

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory):
    """Three arms, T1 better by 10% listening, three replicas with rotated files, cut mid-way."""
    folder = tmp_path_factory.mktemp("ab") / "log"
    events = simulate(
        make_users(6_000, seed=5), {"AB": 3, "OTHER": 2}, seed=6, effects={"T1": 0.10}
    )
    events = cut(events, int(np.quantile(events["timestamp"], 0.9)))
    write_log(events, folder, replicas=3, max_bytes=1_000_000, seed=7)
    (folder / "replica-0" / "events.jsonl").open("a").write('{"message": "next", "timest')
    return folder


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_report_on_stdout_and_in_files(log_dir, tmp_path, capsys):
    code, out, err = run(capsys, log_dir, "--experiment", "AB", "--out", tmp_path / "r")
    assert code == 0, err
    assert (tmp_path / "r" / "report.md").read_text() == out
    assert "| events | " in out and "SRM | ok" in out
    assert "mean_time_per_session is the report's count of mean session time" in out
    assert "cut final line" in out and "replica-0/events.jsonl" in out
    assert "incomplete" in out
    for name in ("effects.png", "session_time.png"):
        data = (tmp_path / "r" / name).read_bytes()
        assert data.startswith(PNG) and len(data) > 5_000
    with open(tmp_path / "r" / "effects.csv") as f:
        rows = list(csv.DictReader(f))
    assert [(r["treatment"], r["metric"]) for r in rows[:2]] == [("T1", "time"), ("T1", "sessions")]
    assert len(rows) == 10
    by_key = {(r["treatment"], r["metric"]): r for r in rows}
    t1 = by_key[("T1", "mean_time_per_session")]
    assert t1["significant"] == "true" and float(t1["lower"]) > 0
    assert float(t1["delta_lower"]) < 10 < float(t1["delta_upper"])
    assert by_key[("T2", "mean_time_per_session")]["significant_holm"] == "false"
    # Holm over all 10 arm x metric tests: the smallest p is multiplied by 10
    smallest = min(rows, key=lambda r: float(r["p_value"]))
    assert float(smallest["p_holm"]) == pytest.approx(min(1.0, 10 * float(smallest["p_value"])))
    assert all(float(r["p_holm"]) >= float(r["p_value"]) for r in rows)
    # the markdown shows the CSV's numbers
    assert f"{float(t1['effect']):+.2f}" in out


def test_cuped_section_with_a_pre_period(log_dir, tmp_path, capsys):
    synthetic_log(
        tmp_path / "pre", users=make_users(6_000, seed=5), seed=40, n_arms=3, max_bytes=1_000_000
    )
    code, out, err = run(
        capsys, log_dir, "--experiment", "AB", "--out", tmp_path / "r", "--pre", tmp_path / "pre"
    )
    assert code == 0, err
    assert "## CUPED" in out and "pre-period (CUPED)" in out
    header = (tmp_path / "r" / "effects.csv").read_text().splitlines()[0]
    assert "cuped_effect" in header and "variance_reduction" in header


def test_sample_ratio_mismatch_is_loud(log_dir, tmp_path, capsys):
    code, out, err = run(
        capsys, log_dir, "--experiment", "AB", "--out", tmp_path, "--split", "60,20,20"
    )
    assert code == 0
    assert "SAMPLE RATIO MISMATCH" in out and "Do not trust" in out
    assert "sample ratio mismatch" in err


def test_split_may_name_an_arm_nobody_reached(tmp_path, capsys):
    write_events(
        tmp_path / "events.jsonl",
        [event(u, u, "last", arm="C" if u % 2 else "T1") for u in range(200)],
    )
    code, out, _ = run(
        capsys, tmp_path, "--experiment", "AB", "--out", tmp_path / "r", "--split", "1,1,1"
    )
    assert code == 0
    assert "users per arm (C, T1, T2)" in out and "SAMPLE RATIO MISMATCH" in out


def bad_lines_log(tmp_path):
    lines = [event(u, u, "last", arm=["C", "T1"][u % 2]) for u in range(50)]
    path = write_events(tmp_path / "logs" / "events.jsonl", lines)
    path.write_text(path.read_text() + "oops\n")  # 1 of 51 lines: 2%
    return tmp_path / "logs"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["{missing}", "--experiment", "AB"], "no such file or folder: {missing}"),
        (["{empty_dir}", "--experiment", "AB"], "no event log files"),
        (["{empty_file}", "--experiment", "AB"], "no events in {empty_file}"),
        (
            ["{log}", "--experiment", "NOPE"],
            "experiment 'NOPE' is not in the logs; experiments found: AB, OTHER",
        ),
        (["{log}", "--experiment", "AB", "--control", "X"], "--control 'X' is not an arm"),
        (["{log}", "--experiment", "AB", "--alpha", "2"], "argument --alpha: invalid"),
        (["{log}", "--experiment", "AB", "--split", "1,1"], "--split gives 2 weights"),
        (["{log}", "--experiment", "AB", "--split", "1,-1,1"], "argument --split: invalid"),
        (["{log}", "--experiment", "AB", "--out", "{empty_file}"], "cannot write to --out"),
        (["{bad}", "--experiment", "AB"], "1 of 51 lines (1.96%) are unreadable"),
        (["{log}", "--experiment", "AB", "--pre", "{bad}"], "lines (--pre) (1.96%)"),
        (["{log}", "--experiment", "AB", "--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_bad_input_is_one_clear_line(log_dir, tmp_path, capsys, argv, expected):
    (tmp_path / "empty_dir").mkdir()
    (tmp_path / "empty_file").write_text("")
    names = {
        "missing": tmp_path / "missing",
        "empty_dir": tmp_path / "empty_dir",
        "empty_file": tmp_path / "empty_file",
        "log": log_dir,
        "bad": bad_lines_log(tmp_path),
    }
    argv = [a.format(**names) for a in argv]
    if "--out" not in argv:
        argv += ["--out", str(tmp_path / "out")]
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("botify ab: ")
    assert expected.format(**names) in err


def test_bad_line_limit_can_be_raised_and_examples_are_named(tmp_path, capsys):
    logs = bad_lines_log(tmp_path)
    code, out, err = run(capsys, logs, "--experiment", "AB", "--out", tmp_path / "r")
    assert code == 2 and "events.jsonl:51 (not valid JSON)" in err
    code, out, _ = run(
        capsys, logs, "--experiment", "AB", "--out", tmp_path / "r", "--max-bad-lines", "5%"
    )
    assert code == 0 and "1 skipped (1.961%)" in out


def test_botify_command_dispatches_without_traceback(tmp_path, capsys):
    write_events(
        tmp_path / "log" / "events.jsonl",
        [event(u, u, "last", arm=["C", "T1"][u % 2]) for u in range(100)],
    )
    command = [sys.executable, "-m", "lab", "ab"]
    done = subprocess.run(
        [*command, str(tmp_path / "log"), "--experiment", "AB", "--out", str(tmp_path / "r")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("# A/B report: AB")
    failed = subprocess.run(
        [*command, str(tmp_path / "nope"), "--experiment", "AB"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert failed.returncode == 2
    assert failed.stderr == f"botify ab: no such file or folder: {tmp_path / 'nope'}\n"
    code, out, _ = run(capsys, "--help")
    assert code == 0 and "--experiment NAME" in out
