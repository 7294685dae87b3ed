"""`botify plan`: the sizing formulas, their power on simulated repetitions, and the command."""

from __future__ import annotations

import math

import pytest
from scipy import special

from lab.repetitions import population, share_significant
from lab.synthetic import make_users
from offline.report.metrics import unit_metrics
from offline.report.plan import main, mde_at, spreads, users_needed
from offline.report.sequential import half_width
from offline.report.sizing import (
    detectable_lift,
    lift_se,
    power_at,
    sequential_units_needed,
    units_needed,
)
from tests.offline.helpers import synthetic_log


def test_sizing_formulas_agree_with_each_other_and_by_hand():
    # 2 ((z_0.975 + z_0.8) (1 + lift) cv / lift)^2 with cv 1, lift 5%
    assert units_needed(1.0, 0.05, 0.05, 0.8) == pytest.approx(
        2 * ((1.959964 + 0.841621) * 1.05 / 0.05) ** 2, rel=1e-5
    )
    n = units_needed(0.8, 0.03, 0.05, 0.9)
    assert power_at(0.8, n, 0.03, 0.05) == pytest.approx(0.9)
    assert detectable_lift(0.8, n, 0.05, 0.9) == pytest.approx(0.03)
    assert detectable_lift(5.0, 10, 0.05, 0.8) == math.inf  # too few units for any effect
    # the always-valid test's wider interval needs about twice the units at 80% power
    sequential = sequential_units_needed(0.8, 0.03, 0.05, 0.8)
    se = lift_se(0.8, sequential, 0.03)
    assert 0.03 - half_width(se**2, 0.03, 0.05) == pytest.approx(float(special.ndtri(0.8)) * se)
    assert 1.7 < sequential / units_needed(0.8, 0.03, 0.05, 0.8) < 2.2


# Few repetitions for a test: the binomial SE of an 80% share over 150 is 3.3 points, so +-10
# points is 3 SE (bench/plan_power.py runs 400 and finds the share within its +-4).
REPETITIONS = 150


@pytest.fixture(scope="module")
def planned():
    units = unit_metrics(population(20_000, seed=5)).units
    return {s.metric: s for s in spreads(units)}


def test_share_significant_at_the_planned_size_is_the_planned_power(planned):
    users = users_needed(planned["mean_time_per_session"], 0.2, 0.05, 0.8)
    share, _ = share_significant(
        REPETITIONS, round(2 * users), 0.2, "mean_time_per_session", 0.05, seed=6
    )
    assert 0.70 <= share <= 0.90, (users, share)


def test_share_significant_at_the_planned_mde_is_the_planned_power(planned):
    effect = mde_at(planned["time"], 500, 0.05, 0.8)
    share, _ = share_significant(REPETITIONS, 1_000, effect, "time", 0.05, seed=7)
    assert 0.70 <= share <= 0.90, (effect, share)


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("plan")
    users = make_users(3_000, seed=8)
    synthetic_log(folder / "day", users=users, seed=9, max_bytes=0)
    synthetic_log(folder / "pre", users=users, seed=10, max_bytes=0)
    return folder


def table_row(out: str, metric: str) -> list[str]:
    line = next(line for line in out.splitlines() if line.startswith(f"| {metric} |"))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_plan_prints_users_sessions_and_mde_per_metric(logs, capsys):
    code, out, err = run(capsys, logs / "day", "--mde", "5%", "--users", "1000")
    assert code == 0, err
    assert "users per arm for +5.00%" in out and "MDE at 1,000 users per arm" in out
    row = table_row(out, "mean_time_per_session")
    users, sessions, total = (int(cell.replace(",", "")) for cell in row[5:8])
    assert total == pytest.approx(2 * users, abs=1) and sessions > users
    # more power needs more users; a larger effect fewer
    _, more, _ = run(capsys, logs / "day", "--mde", "5%", "--power", "90%")
    _, larger, _ = run(capsys, logs / "day", "--mde", "10%")
    needed = int(row[5].replace(",", ""))
    assert int(table_row(more, "mean_time_per_session")[5].replace(",", "")) > needed
    assert int(table_row(larger, "mean_time_per_session")[5].replace(",", "")) < needed


def test_a_pre_period_reduces_the_users_needed(logs, capsys):
    _, plain, _ = run(capsys, logs / "day")
    code, cuped, err = run(capsys, logs / "day", "--pre", logs / "pre")
    assert code == 0, err
    assert "CUPED variance reduction %" in cuped
    row = table_row(cuped, "mean_time_per_session")
    assert float(row[5]) > 10  # users keep their taste across periods
    assert int(row[6].replace(",", "")) < int(
        table_row(plain, "mean_time_per_session")[5].replace(",", "")
    )


def test_one_arm_of_an_experiment_as_the_population(logs, capsys):
    code, out, err = run(capsys, logs / "day", "--experiment", "AB", "--arm", "C")
    assert code == 0, err
    assert int(out.split("Population: ")[1].split(" users")[0].replace(",", "")) < 2_000


def test_an_expected_lift_gets_its_users_and_its_power_at_the_size(logs, capsys):
    code, out, err = run(capsys, logs / "day", "--users", "1000")
    assert code == 0, err
    mde = float(table_row(out, "mean_time_per_session")[-1].rstrip("%"))
    code, out, err = run(capsys, logs / "day", "--users", "1000", "--expected-lift", f"{mde}%")
    assert code == 0, err
    assert f"users per arm for +{mde:.2f}% (expected)" in out
    assert f"power at 1,000 users per arm for +{mde:.2f}%" in out
    row = table_row(out, "mean_time_per_session")
    # the MDE at a size is the lift found with the planned power (80%) at that size
    assert float(row[-1].rstrip("%")) == pytest.approx(80.0, abs=0.1)
    assert int(row[-2].replace(",", "")) == pytest.approx(1000, rel=0.01)
    # a decrease too ('=': a negative value is not taken for an option)
    _, half, _ = run(capsys, logs / "day", "--users", "1000", f"--expected-lift={-mde / 2}%")
    assert 10 < float(table_row(half, "mean_time_per_session")[-1].rstrip("%")) < 50


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--mde", "0"], "argument --mde"),
        (["--expected-lift", "0"], "argument --expected-lift"),
        (["--expected-lift=-100%"], "argument --expected-lift"),
        (["--power", "1.5"], "argument --power"),
        (["--arms", "1"], "argument --arms"),
        (["--users", "10", "--sessions", "10"], "not allowed with argument"),
        (["--experiment", "AB"], "--experiment and --arm go together"),
        (["--experiment", "AB", "--arm", "T9"], "--arm 'T9' is not an arm of AB"),
        (["--experiment", "NOPE", "--arm", "C"], "experiment 'NOPE' is not in the logs"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(logs, capsys, argv, message):
    code, out, err = run(capsys, logs / "day", *argv)
    assert code == 2 and not out
    assert err.startswith("botify plan: ") and message in err and len(err.splitlines()) == 1


def test_a_missing_log_is_named(tmp_path, capsys):
    code, _, err = run(capsys, tmp_path / "nothing")
    assert code == 2 and "nothing" in err
