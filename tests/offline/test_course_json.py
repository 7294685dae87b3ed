"""The course's homework grader's ab_result.json: `botify ab --course-json`, the alphabetically
first experiment by default, and the root script analyze_ab.py that the grader runs.

The expected numbers are re-derived here from the course notebook's definition, row by row with
pandas and scipy.stats, independently of botify's vectorised metrics and statistics."""

from __future__ import annotations

import csv
import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from lab.synthetic import cut, make_users, simulate
from offline.report.ab import main as botify_ab
from offline.report.course_json import rounded
from tests.conftest import ROOT
from tests.offline.helpers import event, write_events

# The grader's schema, as the course states it (not imported from botify: this is the check).
KEYS = [
    "treatment",
    "metric",
    "control_mean",
    "treatment_mean",
    "effect_pct",
    "lower_pct",
    "upper_pct",
    "significant",
]
COURSE_METRICS = [
    "time",
    "sessions",
    "mean_request_latency",
    "mean_tracks_per_session",
    "mean_time_per_session",
]
REPLICAS = ("botify-recommender-1", "botify-recommender-2")
TIE_USERS = (900_001, 900_002)


def logged(events: dict, i: int) -> dict:
    """Event `i` of lab.synthetic's columns as the service logs it, with all its experiments."""
    record = event(
        int(events["user"][i]),
        int(events["timestamp"][i]),
        "last" if events["last"][i] else "next",
        float(events["time"][i]),
        float(events["latency"][i]),
    )
    record["experiments"] = {
        name: events["arm_names"][name][arms[i]] for name, arms in events["arms"].items()
    }
    return record


def tie_events(start: int) -> list[dict]:
    """Two users whose sessions depend on same-millisecond ties kept in reading order: T2's
    user has `last` then `next` at start + 5 (two sessions of two tracks; the other order would
    give one of three and one of one), C's user ends a session and opens one that is never
    finished at start + 7."""
    t2, c = TIE_USERS
    both = {"AB": "T2", "OTHER": "C"}, {"AB": "C", "OTHER": "T1"}
    rows = [
        event(t2, start, "next", 0.9, 0.004),
        event(t2, start + 5, "last", 0.1, 0.001),
        event(t2, start + 5, "next", 0.8, 0.003),
        event(t2, start + 9, "last", 0.7, 0.002),
        event(c, start + 1, "next", 0.2, 0.001),
        event(c, start + 7, "last", 0.3, 0.002),
        event(c, start + 7, "next", 0.6, 0.005),
    ]
    for row in rows:
        row["experiments"] = dict(both[0] if row["user"] == t2 else both[1])
    return rows


@pytest.fixture(scope="module")
def course_dir(tmp_path_factory) -> Path:
    """A log in the course's layout (DIR/<replica>/data.json): experiments AB (C, T1, T2) and
    OTHER, users with several sessions, cut while some listened, and same-millisecond ties."""
    events = simulate(make_users(400, seed=21), {"AB": 3, "OTHER": 2}, seed=22)
    events = cut(events, int(np.quantile(events["timestamp"], 0.85)))
    rows = [logged(events, i) for i in range(len(events["user"]))]
    replica = np.random.default_rng(23).integers(0, len(REPLICAS), len(rows))
    folder = tmp_path_factory.mktemp("course") / "data"
    for index, name in enumerate(REPLICAS):
        mine = [row for row, r in zip(rows, replica, strict=True) if r == index]
        if index == 0:
            mine += tie_events(int(events["timestamp"][len(rows) // 2]))
        write_events(folder / name / "data.json", mine)
    return folder


def course_units(folder: Path, experiment: str) -> pd.DataFrame:
    """The course notebook's user-level metrics, row by row: one row per (user, treatment)."""
    data = pd.concat(
        [pd.read_json(path, lines=True) for path in sorted(folder.glob("*/data.json"))],
        ignore_index=True,
    )
    data["treatment"] = data["experiments"].map(lambda e: e.get(experiment))
    data = data[data["treatment"].notna()]

    def sessionize(user_data: pd.DataFrame) -> list[dict]:
        sessions, session = [], None
        # kind="stable": same-millisecond events stay in reading order (the time they happened)
        for row in user_data.sort_values("timestamp", kind="stable").itertuples():
            if session is None:
                session = {"tracks": 0, "time": 0.0, "latency": 0.0}
            session["tracks"] += 1
            session["time"] += row.time
            session["latency"] += row.latency * 1000
            if row.message == "last":
                sessions.append(session)
                session = None
        return sessions  # an unfinished session at the end is dropped

    per_unit = data.groupby(["user", "treatment"]).apply(sessionize)
    units = pd.DataFrame(
        {
            "sessions": per_unit.map(len),
            "tracks": per_unit.map(lambda s: sum(x["tracks"] for x in s)),
            "time": per_unit.map(lambda s: sum(x["time"] for x in s)),
            "latency": per_unit.map(lambda s: sum(x["latency"] for x in s)),
        }
    ).astype(float)
    units["mean_request_latency"] = units["latency"] / units["tracks"]
    units["mean_tracks_per_session"] = units["tracks"] / units["sessions"]
    units["mean_time_per_session"] = units["time"] / units["sessions"]
    return units.reset_index()


def course_effects(units: pd.DataFrame, alpha: float) -> dict[tuple[str, str], dict]:
    """The notebook's Welch t interval of each treatment against C, unrounded."""
    stats = units.groupby("treatment")[COURSE_METRICS].agg(["count", "mean", "var"])
    result = {}
    for treatment in sorted(set(units["treatment"]) - {"C"}):
        for metric in COURSE_METRICS:
            n_c, mean_c, s2_c = stats.loc["C", metric]
            n_t, mean_t, s2_t = stats.loc[treatment, metric]
            dof = (s2_c / n_c + s2_t / n_t) ** 2 / (
                (s2_c / n_c) ** 2 / (n_c - 1) + (s2_t / n_t) ** 2 / (n_t - 1)
            )
            half = scipy.stats.t.ppf(1 - alpha / 2, dof) * math.sqrt(s2_c / n_c + s2_t / n_t)
            effect = mean_t - mean_c
            result[(treatment, metric)] = {
                "control_mean": mean_c,
                "treatment_mean": mean_t,
                "effect_pct": effect / mean_c * 100,
                "lower_pct": (effect - half) / mean_c * 100,
                "upper_pct": (effect + half) / mean_c * 100,
                "significant": bool((effect + half) * (effect - half) > 0),
            }
    return result


def run_ab(capsys, *argv) -> tuple[int, str, str]:
    code = botify_ab([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def strict_json(path: Path) -> dict:
    def no_constant(name: str) -> None:
        raise AssertionError(f"{path} holds {name}: not strict JSON")

    return json.loads(path.read_text(), parse_constant=no_constant)


@pytest.fixture(scope="module")
def analyze_ab():
    """The root script as a module, for its in-process error cases."""
    spec = importlib.util.spec_from_file_location("analyze_ab", ROOT / "analyze_ab.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("alpha", [0.05, 0.2])
def test_course_json_matches_the_notebook_recomputed_row_by_row(
    course_dir, tmp_path, capsys, alpha
):
    units = course_units(course_dir, "AB")
    # the log has what makes the definitions bite
    tied = units[units["user"] == TIE_USERS[0]]
    assert tied[["sessions", "tracks"]].values.tolist() == [[2.0, 4.0]]
    assert (units["sessions"] >= 3).sum() > 50
    assert units["mean_time_per_session"].isna().any()  # units with no finished session
    assert set(units["treatment"]) == {"C", "T1", "T2"}
    expected = course_effects(units, alpha)
    path = tmp_path / "ab_result.json"
    code, _, err = run_ab(
        capsys,
        course_dir,
        "--experiment",
        "AB",
        "--alpha",
        alpha,
        "--course-json",
        path,
        "--out",
        tmp_path / "report",
    )
    assert code == 0, err
    rows = strict_json(path)["all_effects"]
    assert len(rows) == len(expected) == 10
    assert any(row["significant"] for row in expected.values())  # both verdicts are exercised
    assert not all(row["significant"] for row in expected.values())
    for row in rows:
        want = expected[(row["treatment"], row["metric"])]
        for key, places in [("control_mean", 4), ("treatment_mean", 4)] + [
            (k, 2) for k in ("effect_pct", "lower_pct", "upper_pct")
        ]:
            assert row[key] == round(want[key], places), (row["treatment"], row["metric"], key)
        assert row["significant"] is want["significant"]
    # the unrounded numbers, in botify ab's effects.csv
    with open(tmp_path / "report" / "effects.csv") as f:
        written = {(r["treatment"], r["metric"]): r for r in csv.DictReader(f)}
    columns = {
        "control_mean": "control_mean",
        "treatment_mean": "treatment_mean",
        "effect_pct": "effect",
        "lower_pct": "lower",
        "upper_pct": "upper",
    }
    for key, want in expected.items():
        for ours, theirs in columns.items():
            assert float(written[key][theirs]) == pytest.approx(want[ours], abs=1e-6), (key, ours)
        assert written[key]["significant"] == str(want["significant"]).lower()


def test_course_json_schema_keys_rows_and_types(course_dir, tmp_path, capsys):
    path = tmp_path / "ab_result.json"
    code, _, err = run_ab(capsys, course_dir, "--course-json", path, "--out", tmp_path / "r")
    assert code == 0, err
    assert f"grader file written to {path}" in err
    document = strict_json(path)
    assert list(document) == ["all_effects"]
    rows = document["all_effects"]
    assert [list(row) for row in rows] == [KEYS] * len(rows)
    assert [(row["treatment"], row["metric"]) for row in rows] == [
        (arm, metric) for arm in ("T1", "T2") for metric in COURSE_METRICS
    ]
    for row in rows:
        assert isinstance(row["treatment"], str) and isinstance(row["metric"], str)
        assert type(row["significant"]) is bool
        for key in KEYS[2:7]:
            assert type(row[key]) is float, (row["metric"], key)
        assert round(row["control_mean"], 4) == row["control_mean"]
        assert round(row["effect_pct"], 2) == row["effect_pct"]


def test_a_value_that_is_no_number_is_null(tmp_path, capsys):
    # Nobody in C listens (time 0: no effect in % of it); T1 has a single user (no spread).
    lines = [event(u, u, "last", time=0.0, arm="C") for u in range(1, 30)]
    lines += [event(100, 5, "last", time=0.4, arm="T1")]
    lines += [event(u, u, "last", time=0.3 + u / 1000, arm="T2") for u in range(200, 230)]
    write_events(tmp_path / "log" / "events.jsonl", lines)
    path = tmp_path / "ab_result.json"
    code, _, err = run_ab(capsys, tmp_path / "log", "--course-json", path, "--out", tmp_path / "r")
    assert code == 0, err
    assert "NaN" not in path.read_text() and "Infinity" not in path.read_text()
    rows = {(r["treatment"], r["metric"]): r for r in strict_json(path)["all_effects"]}
    time_t2 = rows[("T2", "time")]
    assert time_t2["control_mean"] == 0.0 and time_t2["treatment_mean"] == 0.5145
    assert [time_t2[k] for k in ("effect_pct", "lower_pct", "upper_pct")] == [None] * 3
    assert time_t2["significant"] is False
    single = rows[("T1", "sessions")]
    assert single["treatment_mean"] == 1.0 and single["effect_pct"] is None
    assert rows[("T2", "sessions")]["effect_pct"] == 0.0
    assert [list(r) for r in rows.values()] == [KEYS] * 10


def test_rounding_gives_no_negative_zero_and_no_nan():
    assert rounded(-0.001, 2) == 0.0 and math.copysign(1, rounded(-0.001, 2) or 0.0) == 1
    assert rounded(12.34567, 4) == 12.3457 and rounded(-2.345678, 2) == -2.35
    assert rounded(math.nan, 2) is None and rounded(math.inf, 2) is None
    assert rounded(None, 2) is None


@pytest.fixture
def three_experiments(tmp_path) -> Path:
    """ZETA is the first named and the most common; BETA is alphabetically first (of BETA,
    MIDDLE, ZETA) and is in fewer events."""
    lines = [event(u, u, "last", arm=["C", "T1"][u % 2], experiment="ZETA") for u in range(60)]
    for u in range(60, 100):
        row = event(u, u, "last", time=0.2 + u % 7 / 10, arm=["C", "T1", "T2"][u % 3])
        row["experiments"] = {"ZETA": "C", "MIDDLE": "T1", "BETA": row["experiments"]["AB"]}
        lines.append(row)
    return write_events(tmp_path / "log" / "events.jsonl", lines).parent


def test_without_experiment_the_alphabetically_first_is_judged(three_experiments, tmp_path, capsys):
    code, out, err = run_ab(
        capsys, three_experiments, "--course-json", tmp_path / "auto.json", "--out", tmp_path / "a"
    )
    assert code == 0, err
    assert out.startswith("# A/B report: BETA\n\n> experiment BETA: the alphabetically first")
    assert "(others: MIDDLE, ZETA)" in out
    assert "botify ab: experiment BETA: the alphabetically first" in err
    code, out, err = run_ab(
        capsys,
        three_experiments,
        "--experiment",
        "BETA",
        "--course-json",
        tmp_path / "b.json",
        "--out",
        tmp_path / "b",
    )
    assert code == 0, err
    assert "alphabetically" not in out + err  # named: judged as before, nothing to say
    assert (tmp_path / "auto.json").read_text() == (tmp_path / "b.json").read_text()
    assert [r["treatment"] for r in strict_json(tmp_path / "b.json")["all_effects"]][::5] == [
        "T1",
        "T2",
    ]
    code, out, _ = run_ab(
        capsys, three_experiments, "--experiment", "ZETA", "--out", tmp_path / "z"
    )
    assert code == 0 and out.startswith("# A/B report: ZETA\n") and "alphabetically" not in out


def run_script(*argv, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """analyze_ab.py as the grader runs it from the repository root (elsewhere: by its path)."""
    script = "analyze_ab.py" if cwd == ROOT else str(ROOT / "analyze_ab.py")
    return subprocess.run(
        [sys.executable, script, *[str(a) for a in argv]],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_analyze_ab_script_writes_what_botify_ab_writes(course_dir, tmp_path, capsys):
    code, _, err = run_ab(
        capsys,
        course_dir,
        "--alpha",
        "0.1",
        "--course-json",
        tmp_path / "ab.json",
        "--out",
        tmp_path / "ab",
    )
    assert code == 0, err
    expected = (tmp_path / "ab.json").read_text()

    # PATH ending with a slash is a folder (created): its ab_result.json, the report beside it
    done = run_script(
        "--data", course_dir, "--output", f"{tmp_path / 'grader' / 'out'}/", "--alpha", "0.1"
    )
    assert done.returncode == 0, done.stderr
    out = tmp_path / "grader" / "out"
    assert (out / "ab_result.json").read_text() == expected
    assert done.stdout.startswith("# A/B report: AB\n\n> experiment AB: the alphabetically first")
    report = out / "report"
    assert (report / "report.md").read_text() == done.stdout
    assert (report / "effects.csv").read_text() == (tmp_path / "ab" / "effects.csv").read_text()
    assert (report / "effects.png").is_file()

    # an existing folder without the slash, and a file name, relative to another working
    # folder; --experiment passed through
    (tmp_path / "given").mkdir()
    for output, written in [("given", "given/ab_result.json"), ("mine.json", "mine.json")]:
        done = run_script(
            "--data", course_dir, "--output", output, "--experiment", "OTHER", cwd=tmp_path
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("# A/B report: OTHER\n\n|")
        rows = strict_json(tmp_path / written)["all_effects"]
        assert [(r["treatment"], r["metric"]) for r in rows] == [("T1", m) for m in COURSE_METRICS]
    assert (tmp_path / "given" / "report" / "report.md").is_file()
    assert (tmp_path / "report" / "report.md").is_file()  # beside mine.json


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["{log}", "--course-json", "{tmp}/nowhere/r.json"], "folder {tmp}/nowhere does not exist"),
        (["{log}", "--course-json", "{tmp}"], "--course-json {tmp} is a folder"),
        (["{log}", "--experiment", "NOPE", "--course-json", "{tmp}/r.json"], "'NOPE' is not in"),
        (["{plain}", "--course-json", "{tmp}/r.json"], "no experiment is named in the events"),
    ],
)
def test_botify_ab_bad_input_is_one_line(course_dir, tmp_path, capsys, argv, expected):
    write_events(tmp_path / "plain" / "events.jsonl", [event(1, 1, "last", arm=None)])
    names = {"log": course_dir, "tmp": tmp_path, "plain": tmp_path / "plain"}
    argv = [a.format(**names) for a in argv] + ["--out", str(tmp_path / "out")]
    code, out, err = run_ab(capsys, *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("botify ab: ")
    assert expected.format(**names) in err
    assert not (tmp_path / "r.json").exists() and not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["--data", "{tmp}/missing", "--output", "{tmp}/o/"],
            "no such file or folder: {tmp}/missing",
        ),
        (["--data", "{tmp}/empty", "--output", "{tmp}/o/"], "no event log files"),
        (["--data", "{log}", "--output", "{tmp}/o/", "--experiment", "X"], "experiment 'X' is not"),
        (["--data", "{log}", "--output", "{tmp}/o/", "--alpha", "2"], "argument --alpha: invalid"),
        (["--data", "{log}"], "the following arguments are required: --output"),
        (["--output", "{tmp}/o/"], "the following arguments are required: --data"),
        (["--data", "{log}", "--output", "{tmp}/f/r.json"], "cannot create the folder {tmp}/f"),
    ],
)
def test_analyze_ab_bad_input_is_one_line(analyze_ab, course_dir, tmp_path, capsys, argv, expected):
    (tmp_path / "empty").mkdir()
    (tmp_path / "f").write_text("a file where a folder is wanted")
    names = {"log": course_dir, "tmp": tmp_path}
    code = analyze_ab.main([a.format(**names) for a in argv])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert captured.err.count("\n") == 1 and captured.err.startswith("analyze_ab.py: ")
    assert expected.format(**names) in captured.err
    assert not (tmp_path / "o" / "ab_result.json").exists()


def test_analyze_ab_script_fails_with_status_2_as_a_process(tmp_path):
    done = run_script("--data", tmp_path / "missing", "--output", tmp_path / "o.json")
    assert done.returncode == 2
    assert done.stderr == f"analyze_ab.py: no such file or folder: {tmp_path / 'missing'}\n"
    assert not (tmp_path / "o.json").exists()
