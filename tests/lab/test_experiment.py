"""`botify experiment --quick` end to end: real Redis, gunicorn, simulator, training, reports."""

import csv
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from lab.days import QUICK_SIZE
from lab.metrics_check import answered_per_arm
from sim.worldfiles import world_matches
from tests.conftest import ROOT


def processes_mentioning(text: str) -> list[str]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in command and int(pid) != os.getpid():
            found.append(command)
    return found


def test_quick_experiment_runs_the_whole_loop_and_leaves_nothing_running(tmp_path):
    runs, world = tmp_path / "runs", tmp_path / "world"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "lab",
            "experiment",
            "--quick",
            "--sessions",
            "1500",
            "--out",
            str(runs),
            "--world",
            str(world),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    run = (runs / "latest").resolve()
    # The world it generated is the one it asked for, so a second run reuses it.
    assert world_matches(world, 42, QUICK_SIZE.tracks, QUICK_SIZE.artists, QUICK_SIZE.users)
    assert "already there" not in result.stdout
    for step in range(1, 8):
        assert f"[{step}/7]" in result.stdout
    # each day under its own number in the simulator's table and progress; the output is not
    # a terminal here, so the progress is plain lines (the last one at each day's end)
    assert "| 1 | 1500 |" in result.stdout and "| 2 | 1500 |" in result.stdout
    assert "day 1: 1,500/1,500 sessions (100%)" in result.stderr
    assert "day 2: 1,500/1,500 sessions (100%)" in result.stderr and "\r" not in result.stderr
    assert "# A/B report: STICKY_VS_LEARNED" in result.stdout  # the report is printed
    for name in (
        "config.day1.json",
        "config.day2.json",
        "summary.md",
        "model/i2i.json",
        "model/i2i.meta.json",
        "model/users.json",
        "model/top_tracks.json",
        "aa_day1/report.md",
        "ab/report.md",
        "ab/effects.csv",
        "ab/effects.png",
        "ab/session_time.png",
    ):
        assert (run / name).exists(), name
    day1 = [json.loads(line) for line in (run / "logs/day1/events.jsonl").read_text().splitlines()]
    day2 = [json.loads(line) for line in (run / "logs/day2/events.jsonl").read_text().splitlines()]
    assert sum(event["message"] == "last" for event in day1) == 1500
    assert sum(event["message"] == "last" for event in day2) == 1500
    assert {event["experiments"]["COLD_START"] for event in day1} == {"C"}
    assert {event["experiments"]["AA"] for event in day1} == {"C", "T1"}
    assert {event["experiments"]["STICKY_VS_LEARNED"] for event in day2} == {"C", "T1"}
    with open(run / "ab/effects.csv") as file:
        metrics = {row["metric"] for row in csv.DictReader(file)}
    assert "mean_time_per_session" in metrics
    # The service's /metrics, kept at the end of each day, counts the answers per arm that the
    # day's log holds (issue 24's Done-when).
    for day, events, experiment in ((1, day1, "COLD_START"), (2, day2, "STICKY_VS_LEARNED")):
        page = (run / f"metrics.day{day}.txt").read_text()
        counted = answered_per_arm(page, experiment)
        assert counted == Counter(event["experiments"][experiment] for event in events)
        assert f"/metrics (metrics.day{day}.txt): answers per arm as in the log" in result.stdout
    assert set(counted) == {"C", "T1"}
    summary = (run / "summary.md").read_text()
    assert "A/A verdict" in summary and "STICKY_VS_LEARNED" in summary
    assert processes_mentioning(str(run)) == []  # service and its workers stopped
