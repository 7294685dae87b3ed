"""`botify experiment --sessions auto --mde 2%`: day 2 sized by `botify plan` on day 1's log.

Day 1 (the cold start, everyone on the control chain) is the population log: the plan gives the
users per arm that detect --mde on the verdict's metric with 80% power at alpha 0.05, and day
2's sessions are those users, times the arms of the routing experiment, times day 1's sessions
per user. The plan is written to the run's plan.md.

The simulator draws each session's user from the world's fixed population, so a day of more
sessions than day 1 brings users back more often rather than bringing new ones: when the
planned users outnumber the world's, the size is a rough guide, and it says so.
"""

from __future__ import annotations

import math
from pathlib import Path

from botify.config import Config
from lab.days import Size, routing_name
from offline.report.plan import make_plan, markdown, parse_args, users_needed

METRIC = "mean_time_per_session"  # the verdict's metric (lab.summary)
MIN_SESSIONS = 100


def routing_arms(base: Config) -> int:
    spec = next(e for e in base["experiments"] if e["name"] == routing_name(base))
    arms = spec["arms"]
    return arms if isinstance(arms, int) else len(arms)


def planned_size(run: Path, base: Config, size: Size, mde: float) -> Size:
    arms = routing_arms(base)
    plan = make_plan(
        parse_args([str(run / "logs" / "day1"), "--mde", str(mde), "--arms", str(arms)])
    )
    text = markdown(plan)
    (run / "plan.md").write_text(text)
    print(text.rstrip())
    spread = next(s for s in plan.spreads if s.metric == METRIC)
    users = users_needed(spread, mde, plan.alpha, plan.power)
    sessions = max(MIN_SESSIONS, math.ceil(users * arms * plan.sessions_per_user))
    print(
        f"day 2 sized for +{mde:.2%} on {METRIC} at {plan.power:.0%} power: "
        f"{math.ceil(users):,} users per arm, {sessions:,} sessions"
    )
    if users * arms > size.users:
        print(
            f"warning: that is more users than the world's {size.users:,}: day 2's users will "
            "come back more often than day 1's, so the plan is only a rough guide"
        )
    return Size(size.tracks, size.artists, size.users, sessions)


def sessions_value(text: str) -> int | str:
    if text == "auto":
        return text
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


sessions_value.__name__ = "sessions (a positive number or auto)"
