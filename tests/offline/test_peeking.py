"""Safe peeking: the always-valid test's formulas, its error rate over many looks, and `botify ab
--sequential`, `--every` and `--looks`."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
from scipy import special

from lab.repetitions import peeks
from offline.report.ab import main
from offline.report.peeking import duration_ms, look_times
from offline.report.sequential import always_valid, running
from tests.offline.helpers import synthetic_log


def test_the_interval_excludes_zero_exactly_when_p_is_below_alpha():
    for estimate in np.linspace(-0.1, 0.1, 41):
        result = always_valid(float(estimate), 0.02**2, 0.05, 0.05)
        assert result.significant == (result.p_value < 0.05)
        # wider than the fixed-horizon interval: the price of looking at will
        assert result.upper - estimate > float(special.ndtri(0.975)) * 0.02
    assert not always_valid(math.nan, 0.01, 0.05, 0.05).significant


def test_running_keeps_the_narrowest_interval_and_smallest_p():
    first = always_valid(0.05, 0.01**2, 0.02, 0.05)
    later = always_valid(0.0, 0.02**2, 0.02, 0.05)
    both = running(first, later)
    assert both.lower == first.lower and both.upper == min(first.upper, later.upper)
    assert both.p_value == first.p_value and both.significant


def test_durations_and_looks():
    assert duration_ms("90s") == 90_000 and duration_ms("1.5h") == 5_400_000
    for bad in ("0s", "5", "two hours", "-1min"):
        with pytest.raises(ValueError):
            duration_ms(bad)
    assert look_times(0, 100, None, 4) == [25, 50, 75, 100]
    assert look_times(0, 100, 30, None) == [30, 60, 90, 100]
    assert look_times(0, 90, 30, None) == [30, 60, 90]


# 120 A/A repetitions, 10 looks each: a 5% share has a binomial SE of 2 points. The always-valid
# test keeps far below alpha here (bench/peeking.py: 400 repetitions, 20 looks); peeking at
# the fixed-horizon test finds about three times alpha.
def test_peeking_at_an_aa_experiment():
    result = peeks(120, 1_000, 0.0, "mean_time_per_session", 10, 0.05, 0.2, seed=11)
    ever_fixed = result.fixed.any(axis=1).mean()
    ever_sequential = result.sequential.any(axis=1).mean()
    assert ever_sequential <= 0.06, ever_sequential
    assert ever_fixed >= 0.09 and ever_fixed > ever_sequential + 0.04, ever_fixed
    # the fixed test at its one planned look (the last) is still right
    assert result.fixed[:, -1].mean() <= 0.10


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("peek") / "log"
    synthetic_log(folder, n_users=3_000, seed=12, effects={"T1": 0.3}, max_bytes=0)
    return folder


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_sequential_and_looks_in_the_report(log_dir, tmp_path, capsys):
    out_dir = tmp_path / "r"
    code, out, err = run(
        capsys, log_dir, "--experiment", "AB", "--out", out_dir, "--looks", "5", "--sequential"
    )
    assert code == 0, err
    assert "## Always-valid against C" in out and "## The verdict over time" in out
    with open(out_dir / "path.csv") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 5 * 5  # looks x metrics, one treatment arm
    time_rows = [r for r in rows if r["metric"] == "mean_time_per_session"]
    assert [int(r["look"]) for r in time_rows] == [1, 2, 3, 4, 5]
    users = [int(r["users"]) for r in time_rows]
    assert users == sorted(users) and users[0] < users[-1]
    # a 30% lift is found, and the always-valid interval is never narrower than the fixed one
    assert time_rows[-1]["sequential_significant"] == "true"
    for r in time_rows:
        assert float(r["sequential_upper"]) - float(r["sequential_lower"]) > float(
            r["upper"]
        ) - float(r["lower"])
    # the last look is the whole log: the report's own effect
    effects = {r["metric"]: r for r in csv.DictReader(open(out_dir / "effects.csv"))}
    assert float(time_rows[-1]["effect"]) == pytest.approx(
        float(effects["mean_time_per_session"]["effect"])
    )


def test_every_duration(log_dir, tmp_path, capsys):
    code, out, err = run(capsys, log_dir, "--experiment", "AB", "--out", tmp_path, "--every", "4h")
    assert code == 0, err
    looks = {int(r["look"]) for r in csv.DictReader(open(tmp_path / "path.csv"))}
    assert 3 <= len(looks) <= 7  # the synthetic day spans about a day
    assert "### First significant look" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--every", "5 parsecs"], "argument --every"),
        (["--looks", "0"], "argument --looks"),
        (["--every", "1h", "--looks", "3"], "not allowed with argument"),
        (["--every", "1ms"], "at most 1,000"),
        (["--sequential", "--mde", "0%"], "argument --mde"),
    ],
)
def test_bad_peeking_options(log_dir, tmp_path, capsys, argv, message):
    code, out, err = run(capsys, log_dir, "--experiment", "AB", "--out", tmp_path, *argv)
    assert code == 2 and not out
    assert err.startswith("botify ab: ") and message in err
