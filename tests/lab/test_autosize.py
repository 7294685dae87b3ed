"""`botify experiment --sessions auto`: day 2 sized by `botify plan` on day 1's log."""

from __future__ import annotations

import math

import pytest

from botify.config import load_config
from lab.autosize import planned_size, sessions_value
from lab.days import QUICK_SIZE
from offline.report.plan import make_plan, parse_args, users_needed
from tests.conftest import ROOT
from tests.offline.helpers import synthetic_log


def test_day2_is_the_plans_users_times_arms_times_sessions_per_user(tmp_path, capsys):
    synthetic_log(tmp_path / "logs" / "day1", n_users=1_000, seed=3, max_bytes=0)
    base = load_config(ROOT / "config.json")  # its routing experiment has 2 arms
    size = planned_size(tmp_path, base, QUICK_SIZE, 0.05)
    plan = make_plan(parse_args([str(tmp_path / "logs" / "day1"), "--mde", "5%"]))
    spread = next(s for s in plan.spreads if s.metric == "mean_time_per_session")
    users = users_needed(spread, 0.05, 0.05, 0.8)
    assert size.sessions == math.ceil(users * 2 * plan.sessions_per_user)
    assert (size.tracks, size.users) == (QUICK_SIZE.tracks, QUICK_SIZE.users)
    assert "| mean_time_per_session |" in (tmp_path / "plan.md").read_text()
    out = capsys.readouterr().out
    assert f"{size.sessions:,} sessions" in out
    # the quick world's 1,500 users are too few for +5% on these synthetic users: it says so
    assert ("more users than the world's 1,500" in out) == (users * 2 > 1_500)


def test_sessions_option():
    assert sessions_value("auto") == "auto" and sessions_value("1500") == 1500
    for bad in ("0", "-3", "many"):
        with pytest.raises(ValueError):
            sessions_value(bad)
