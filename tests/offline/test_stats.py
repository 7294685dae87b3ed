"""Holm, SRM, the delta method and CUPED against hand-computed or simulated truths."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats

from lab.synthetic import events_frame, make_users, simulate
from offline.report.effects import effects_table
from offline.report.metrics import unit_metrics
from offline.report.stats import Sample, cuped_adjust, delta_lift, holm, srm


def test_holm_matches_hand_computed_step_down():
    # sorted p: 0.01, 0.02, 0.03, 0.04 with m = 4 -> 0.04, 0.06, 0.06 (monotone), 0.04 -> 0.06
    assert holm([0.03, 0.01, 0.04, 0.02]) == pytest.approx([0.06, 0.04, 0.06, 0.06])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    adjusted = holm([math.nan, 0.01, 0.04])  # an untested row is not part of the family
    assert math.isnan(adjusted[0]) and adjusted[1:] == pytest.approx([0.02, 0.04])


def test_srm_flags_a_skewed_split_and_passes_a_fair_one():
    chi2, p = srm([5_000, 5_000], [1, 1])
    assert chi2 == 0 and p == 1
    chi2, p = srm([5_200, 4_800], [1, 1])
    assert chi2 == pytest.approx(16.0)
    assert p == pytest.approx(scipy.stats.chi2.sf(16.0, 1))
    assert p < 0.001
    _, p = srm([6_600, 3_400], [2, 1])  # 2:1 configured, so roughly fair
    assert p > 0.01
    _, p = srm([5_000, 5_000, 0], [1, 1, 1])  # an arm that got nobody
    assert p < 1e-10


def test_delta_method_interval_against_hand_formula():
    control, treatment = Sample(400, 10.0, 16.0), Sample(500, 11.0, 25.0)
    var = 25.0 / 500 / 100 + 121 * 16.0 / 400 / 10_000
    half = 1.959963984540054 * math.sqrt(var)
    assert delta_lift(control, treatment, 0.05) == pytest.approx(
        ((0.1 - half) * 100, (0.1 + half) * 100)
    )


def test_cuped_removes_the_covariates_share_of_variance():
    rng = np.random.default_rng(1)
    x = rng.normal(size=20_000)
    y = 2 * x + rng.normal(size=20_000)  # corr^2 = 4/5
    adjusted, theta = cuped_adjust(y, x)
    assert theta == pytest.approx(2, abs=0.03)
    assert adjusted.mean() == pytest.approx(y.mean())
    assert adjusted.var() / y.var() == pytest.approx(0.2, abs=0.01)
    assert cuped_adjust(y, np.ones_like(y))[1] == 0  # a constant covariate: no adjustment


def test_cuped_with_a_pre_period_removes_the_explained_variance_and_keeps_the_effect():
    users = make_users(4_000, seed=21)
    experiment = events_frame(simulate(users, {"AB": 2}, seed=22, effects={"T1": 0.08}))
    before = events_frame(simulate(users, {"AB": 2}, seed=23)).with_columns(arm=None)
    pre = unit_metrics(before).units.drop("arm")
    units = unit_metrics(experiment).units
    effects = effects_table(units, ["C", "T1"], "C", 0.05, pre)
    for metric in ("time", "sessions"):  # defined for every user in both periods
        row = effects.filter(metric=metric).row(0, named=True)
        joined = units.join(pre, on="user", suffix="_pre")
        rho = np.corrcoef(joined[metric].to_numpy(), joined[f"{metric}_pre"].to_numpy())[0, 1]
        assert rho > 0.4
        # CUPED removes the share of variance the covariate explains: rho^2
        assert row["variance_reduction"] == pytest.approx(100 * rho**2, abs=3)
        narrowing = (row["cuped_upper"] - row["cuped_lower"]) / (row["upper"] - row["lower"])
        assert narrowing == pytest.approx(math.sqrt(1 - rho**2), abs=0.03)
        assert row["pre_coverage"] == pytest.approx(100)
    row = effects.filter(metric="time").row(0, named=True)
    assert row["cuped_lower"] < 8 < row["cuped_upper"]
    # latency does not depend on the user: the pre-period cannot help there
    assert abs(effects.filter(metric="mean_request_latency")["variance_reduction"].item()) < 2
