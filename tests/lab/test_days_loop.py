"""`botify experiment --quick --days 7` (in-process, 1,000 sessions a day): every day judged, the
learned chain's trajectory rising, the report, chart and trajectory written."""

from __future__ import annotations

import json

import pytest

from lab.days_loop import aa_flags, aa_verdict
from lab.experiment import main


def test_seven_quick_days_rise_and_are_reported(tmp_path, capsys):
    args = ["--quick", "--days", "7", "--sessions", "1000", "--world", str(tmp_path / "world")]
    args.append("--train=--affinity-listener-prior 5")  # passed on to every day's training
    assert main([*args, "--out", str(tmp_path / "runs")]) == 0
    (run,) = (tmp_path / "runs").iterdir()
    rows = json.loads((run / "trajectory.json").read_text())
    assert [r["day"] for r in rows] == list(range(1, 8))
    t1 = [r["T1"] for r in rows]
    assert t1[-1] > t1[0] + 0.3  # day 1 explores without knowledge; learning lifts it
    assert sum(t1[3:]) / 4 > sum(t1[:3]) / 3  # the later days above the earlier ones
    assert rows[-1]["T1"] > rows[-1]["C"] and rows[-1]["significant"]
    # the simulator's count (without each session's first track) agrees on the order
    assert rows[-1]["T1_sim"] > rows[-1]["C_sim"] > 0
    assert all(r["C_sim"] < r["C"] and r["T1_sim"] < r["T1"] for r in rows)
    # day 1's cost is StickyArtist's lead over itself exploring, as the A/B measured it
    assert rows[0]["cost"] == pytest.approx(rows[0]["C_sim"] - rows[0]["T1_sim"])
    assert rows[0]["cost"] > 0 and rows[0]["C"] > rows[0]["T1"]
    assert all(abs(r["cost"]) < 2 for r in rows)
    for day in range(1, 7):
        meta = json.loads((run / f"model{day}" / "i2i.meta.json").read_text())
        assert meta["parameters"]["affinity"]["listener_prior"] == 5
    report = (run / "report.md").read_text()
    assert "| 7 |" in report and (run / "trajectory.png").stat().st_size > 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--days", "1"], "--days must be at least 2"),
        (["--days", "3", "--explore", "0"], "--explore must be in"),
        (["--days", "3", "--sessions", "0"], "--sessions must be at least 1"),
        (["--days", "3", "--explore-first", "1.5"], "--explore-first must be in"),
        # botify train's own refusals, before day 1 is spent
        (["--days", "3", "--train=--affinity-bonus -1"], "invalid non-negative number"),
        (["--days", "3", "--train=--bogus"], "unrecognized arguments: --bogus"),
        (["--days", "3", "--train='unclosed"], "--train: No closing quotation"),
    ],
)
def test_bad_options_exit_2_naming_the_option(args, message, capsys):
    with pytest.raises(SystemExit) as done:
        main(args)
    assert done.value.code == 2 and message in capsys.readouterr().err


def test_the_aa_verdict_is_on_listening_and_shows_a_latency_flag_beside_it():
    def effects(*significant):
        metrics = ["mean_time_per_session", "sessions", "mean_request_latency"]
        return [{"metric": m, "significant_holm": str(m in significant).lower()} for m in metrics]

    assert aa_flags(effects()) == (True, False)
    assert aa_flags(effects("mean_request_latency")) == (True, True)
    assert aa_flags(effects("sessions", "mean_request_latency")) == (False, True)
    assert aa_verdict({"aa_clean": True, "aa_latency": True}) == "yes (latency flagged)"
    assert aa_verdict({"aa_clean": False, "aa_latency": False}) == "NO"


def test_the_loop_names_its_run_folder_and_shows_progress(tmp_path, capsys):
    args = ["--quick", "--days", "2", "--sessions", "200", "--world", str(tmp_path / "world")]
    assert main([*args, "--out", str(tmp_path / "runs")]) == 0
    (run,) = (tmp_path / "runs").iterdir()
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0] == f"botify experiment --days 2: writing to {run}"
    assert str(run) in lines[-1] and lines[-1].startswith("botify experiment --days: done")
    # what `botify runs` reads: seed, sessions, days and duration
    assert "Seed 42, 200 sessions a day for 2 days, " in (run / "report.md").read_text()
    # each day labelled by its count of mean session time, in the output and the report
    assert "day 2: mean session time, the report's count: C " in captured.out
    report = (run / "report.md").read_text()
    assert "| day | C (report) | T1 (report) |" in report and "| C (sim) | T1 (sim) |" in report
    assert "(report): the arm's mean session time in the report's count" in report
    assert "(sim): in the simulator's count" in report
    # its output is not a terminal here: plain progress lines, one at each day's end
    assert "day 1: 200/200 sessions (100%)" in captured.err
    assert "day 2: 200/200 sessions (100%)" in captured.err
