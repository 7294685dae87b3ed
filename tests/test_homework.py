"""The course's homework on botify: the root Makefile against the grader's structure rules, and a
small `make run` as the grader runs it, giving a valid ab_result.json in the course's layout."""

from __future__ import annotations

import glob
import json
import re
import subprocess

import pandas as pd
import pytest

from tests.conftest import ROOT
from tests.offline.test_course_json import COURSE_METRICS as GRADER_METRICS
from tests.offline.test_course_json import KEYS as GRADER_KEYS

MAKEFILE = (ROOT / "Makefile").read_text()


@pytest.mark.parametrize("target", ["setup", "run", "clean"])
def test_the_makefile_has_the_graders_targets(target):
    assert re.search(rf"^{target}:", MAKEFILE, re.MULTILINE)


@pytest.mark.parametrize("variable", ["SEED", "EPISODES", "DATA_DIR"])
def test_the_graders_variables_are_set_with_question_mark_equals(variable):
    assert re.search(rf"^{variable} \?= \S", MAKEFILE, re.MULTILINE)
    assert not re.search(rf"^{variable}\s*:?=", MAKEFILE, re.MULTILINE)  # the grader rejects it


def test_run_takes_the_graders_values_and_calls_analyze_ab():
    dry = subprocess.run(
        ["make", "-n", "run", "SEED=5", "EPISODES=7", "DATA_DIR=/tmp/graded"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "BOTIFY_SEED=5 " in dry and "--sessions 7 --seed 5" in dry
    assert "analyze_ab.py --data /tmp/graded --output /tmp/graded/ab_result.json" in dry
    assert (ROOT / "analyze_ab.py").is_file()


def make_run(tmp_path, name: str, episodes: int = 300) -> dict:
    data_dir = tmp_path / name
    result = subprocess.run(
        [
            "make",
            "run",
            "SEED=31312",
            f"EPISODES={episodes}",
            f"DATA_DIR={data_dir}",
            f"HOMEWORK_RUNS={tmp_path / 'runs'}",
            f"WORLD_DIR={tmp_path / 'world'}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return json.loads((data_dir / "ab_result.json").read_text())


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Two graded-style runs with the same SEED, as the grader makes them."""
    tmp_path = tmp_path_factory.mktemp("homework")
    return tmp_path, make_run(tmp_path, "run1"), make_run(tmp_path, "run2")


def test_a_small_make_run_writes_the_graders_file(graded):
    _, result, _ = graded
    effects = result["all_effects"]
    assert list(result) == ["all_effects"]
    assert [(row["treatment"], row["metric"]) for row in effects] == [
        ("T1", metric) for metric in GRADER_METRICS
    ]
    for row in effects:
        assert list(row) == GRADER_KEYS
        assert isinstance(row["significant"], bool)
        for key in GRADER_KEYS[2:7]:
            assert isinstance(row[key], float) and row[key] == round(row[key], 4)
        assert row["control_mean"] > 0 and row["lower_pct"] <= row["effect_pct"] <= row["upper_pct"]


def test_the_logs_are_in_the_courses_layout_and_read_as_the_course_reads_them(graded):
    tmp_path, _, _ = graded
    found = glob.glob(f"{tmp_path / 'run1'}/*/data.json")
    assert len(found) == 1
    data = pd.concat([pd.read_json(path, lines=True) for path in found])
    assert set(data["message"]) == {"next", "last"}
    assert data["experiments"].map(lambda arms: sorted(arms)).map(tuple).unique().tolist() == [
        ("HOMEWORK",)
    ]  # one experiment logged: the one the course's script judges
    served = set(data["recommender"].dropna())
    assert {"course_i2i", "homework.recommender:Homework"} <= served
    assert (data["latency"] >= data["work_time"] - 1e-3).all()  # the wall time holds the work


def test_two_runs_with_the_same_seed_give_the_same_verdict(graded):
    """The same requests get the same answers: every figure but the latency's (wall time) is
    the same to the last digit."""
    _, first, second = graded

    def listening(result):
        return [row for row in result["all_effects"] if row["metric"] != "mean_request_latency"]

    assert listening(first) == listening(second)
