"""The dashboard's JSON over real HTTP (its app on a server thread): a run followed on its newest
day and its routing experiment, a learning loop's trajectory, the registry of a runs folder and
two runs compared, and bad requests answered 4xx with a message naming what was wrong. The
numbers are held to botify ab's own report on the same files."""

from __future__ import annotations

import csv
import math
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest
import requests

from lab.dashboard.judge import Judging
from lab.dashboard.source import resolve
from lab.dashboard.state import Dashboard
from lab.registry import compare, find_run, listing
from lab.runs import read_runs
from tests.dashboard.logs import log_lines
from tests.dashboard.report import AbReport, botify_ab
from tests.dashboard.runs import add_day2, learning_loop, two_day_run
from tests.dashboard.server import served


def following(*paths: Path, experiment: str | None = None) -> Dashboard:
    """A dashboard that reads the files at every look (no refresh period)."""
    source = resolve([str(path) for path in paths])
    return Dashboard(source, Judging(), experiment=experiment, refresh_seconds=0)


def state_differences(state: dict, report: AbReport) -> list[str]:
    """Where the state's figures differ from botify ab's report cells (empty: none)."""
    wrong = []
    arms = {arm["arm"]: arm["text"] for arm in state["arms"]}
    for row in report.arms:
        for column, key in (("users", "users"), ("sessions", "sessions"), ("events", "events")):
            if arms[row["arm"]][key] != row[column]:
                wrong.append(f"arm {row['arm']} {key}: {arms[row['arm']][key]} != {row[column]}")
    effects = {(r["treatment"], r["metric"]): r["text"] for r in state["effects"]}
    for row in report.effects:
        text = effects[row["arm"], row["metric"]]
        for column, key in (("effect %", "effect"), ("interval %", "interval")):
            if text[key] != row[column]:
                wrong.append(f"{row['arm']} {row['metric']} {key}: {text[key]} != {row[column]}")
    for row in report.always_valid:
        text = effects[row["arm"], row["metric"]]["sequential_interval"]
        if text != row["always-valid interval %"]:
            wrong.append(f"{row['arm']} {row['metric']} always valid: {text}")
    return wrong


@pytest.fixture
def log_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "log"
    folder.mkdir()
    (folder / "events.jsonl").write_bytes(b"".join(log_lines(users=150)))
    return folder


def test_a_run_is_followed_on_its_newest_day_and_routing_experiment(tmp_path: Path) -> None:
    run = two_day_run(tmp_path / "runs", "20260101-090000", day2=False)
    dashboard = following(run)
    day1 = dashboard.state()
    # day 1 routes everyone to COLD_START's one arm: the A/A logged alongside is what it judges
    assert (day1["following"]["day"], day1["experiment"]) == (1, "AA")
    assert (
        day1["chosen"] == "the alphabetically first of the logs' experiments with two arms or more"
    )
    assert day1["experiments"].keys() == {"AA", "COLD_START"}

    add_day2(run)
    day2 = dashboard.state()  # a run that moved on is followed without a restart
    assert (day2["following"]["day"], day2["experiment"]) == (2, "STICKY_VS_LEARNED")
    assert day2["chosen"] == "the run's routing experiment"
    # botify experiment judges day 2 with its day config: the arms' own links, the warnings
    report = botify_ab(
        run / "logs" / "day2",
        tmp_path / "ab",
        "STICKY_VS_LEARNED",
        "--config",
        str(run / "config.day2.json"),
    )
    assert state_differences(day2, report) == []
    assert day2["serving"]["warnings"] == report.warnings
    assert day2["serving"]["fallback_answers"] == sum(
        link["answered"] for link in day2["serving"]["links"] if link["link"] != "sticky_artist"
    )


def test_a_learning_loop_shows_each_judged_day_and_the_live_one(tmp_path: Path) -> None:
    run = learning_loop(tmp_path / "runs", "days-20260101-090000", judged_days=2, live_day=True)
    state = following(run).state()
    assert (state["following"]["day"], state["experiment"]) == (3, "LOOP")
    judged, live = state["trajectory"][:2], state["trajectory"][2]
    for row in judged:
        with open(run / f"ab.day{row['day']}.LOOP" / "effects.csv", newline="") as file:
            effect = next(r for r in csv.DictReader(file) if r["metric"] == "mean_time_per_session")
        assert row["status"] == "judged"
        for key in ("effect", "lower", "upper", "control_mean", "treatment_mean"):
            assert math.isclose(row[key], float(effect[key]), abs_tol=1e-9), key
    shown = next(r for r in state["effects"] if r["metric"] == "mean_time_per_session")
    assert live["status"] == "live" and live["day"] == 3
    assert (live["effect"], live["lower"], live["upper"]) == (
        shown["effect"],
        shown["sequential_lower"],
        shown["sequential_upper"],
    )
    chart = ElementTree.fromstring(state["charts"]["trajectory"])
    points = chart.findall("{http://www.w3.org/2000/svg}circle")
    assert [p.get("fill") for p in points] == ["#111", "#111", "#fff"]  # the live day hollow


def test_a_runs_folder_gives_the_registry_and_compares_two_runs(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    two_day_run(runs, "20260101-090000")
    learning_loop(runs, "days-20260102-090000", judged_days=1, live_day=False)
    dashboard = following(runs)
    with served(dashboard) as url:
        state = requests.get(f"{url}/api/state", timeout=30).json()
        registry = requests.get(f"{url}/api/runs", timeout=30).json()
        compared = requests.get(f"{url}/api/compare?a=-2&b=latest", timeout=30).json()
        unknown = requests.get(f"{url}/api/compare?a=-2&b=2027", timeout=30)
        missing = requests.get(f"{url}/api/compare?a=-2", timeout=30)
    # the newest run by start time is followed: the learning loop
    assert state["following"]["run"] == str(runs / "days-20260102-090000")
    found = read_runs(runs)
    assert registry["markdown"] == listing(found)
    assert registry["runs"] == ["20260101-090000", "days-20260102-090000"]
    assert compared["markdown"] == compare(found[0], find_run(found, "latest"))
    assert unknown.status_code == 404
    assert unknown.json()["message"].startswith("'2027' is not a run (the latest:")
    assert missing.status_code == 400
    assert missing.json() == {"message": "b: give a run (id, id prefix, latest or -N), got ''"}


def test_bad_requests_are_answered_4xx_naming_what_was_wrong(log_folder: Path) -> None:
    with served(following(log_folder)) as url:
        unknown = requests.get(f"{url}/api/state?experiment=NOPE", timeout=30)
        bad_name = requests.get(f"{url}/api/state?experiment=a%20b", timeout=30)
        not_runs = requests.get(f"{url}/api/runs", timeout=30)
        nowhere = requests.get(f"{url}/nowhere", timeout=30)
        posted = requests.post(f"{url}/api/state", timeout=30)
        other = requests.get(f"{url}/api/state?experiment=OTHER", timeout=30)
    assert unknown.status_code == 404
    assert unknown.json() == {
        "message": "experiment 'NOPE' is not in the logs; experiments found: AB, OTHER"
    }
    assert bad_name.status_code == 400
    assert bad_name.json() == {"message": "experiment: not an experiment name: 'a b'"}
    assert (
        not_runs.status_code == 404 and "not following a runs folder" in not_runs.json()["message"]
    )
    assert nowhere.status_code == 404 and nowhere.json()["message"]
    assert posted.status_code == 405 and posted.json()["message"]
    # another experiment of the log, on asking: OTHER has three arms
    assert other.ok and [arm["arm"] for arm in other.json()["arms"]] == ["C", "T1", "T2"]


def test_events_not_there_yet_are_said_not_failed(tmp_path: Path) -> None:
    folder = tmp_path / "log"
    folder.mkdir()
    live = folder / "events.jsonl"
    live.write_bytes(b"")  # the service opened its log, no request yet
    dashboard = following(folder)
    assert dashboard.state()["message"] == "no events in the logs yet"
    live.write_bytes(log_lines(users=40)[0])  # one event: one user, one arm
    state = dashboard.state()
    assert state["message"].startswith("experiment 'AB' has only arm")
    assert "arms" not in state


def test_the_effects_chart_draws_every_effect(log_folder: Path) -> None:
    state = following(log_folder).state()
    chart = ElementTree.fromstring(state["charts"]["effects"])
    points = chart.findall("{http://www.w3.org/2000/svg}circle")
    assert len(points) == len(state["effects"]) == 5
