"""Is `botify plan` right? Plan from a population log, then run many A/B repetitions at the
planned size with the effect injected at the planned MDE: the share significant should be the
planned power.

    .venv/bin/python bench/plan_power.py [--repetitions 400] [--power 0.8]

1. A population's A/A day (lab.synthetic users) is written as a log and planned from with the
   command's own code (`botify plan LOG --mde 5%`).
2. mean_time_per_session: the users per arm the plan gives for +5%; `time`: the MDE the plan
   gives at TIME_USERS (4,000) users per arm. Each is run over fresh repetitions (own users,
   mmh3 buckets, so arms of about equal size) with T1's listened fractions x (1 + that effect).
3. The share of repetitions whose delta-method interval excludes 0 (the test the plan sizes),
   and the course's Welch test's share beside it, against the planned power, with the binomial
   standard error of the share.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

from lab.repetitions import share_significant
from lab.synthetic import make_users, simulate, write_log
from offline.report.plan import make_plan, markdown, mde_at, parse_args, users_needed

POPULATION = 20_000
MDE = 0.05
TIME_USERS = 4_000  # per arm: the size at which `time`'s MDE is checked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repetitions", type=int, default=400)
    parser.add_argument("--power", type=float, default=0.8)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        users = make_users(POPULATION, seed=args.seed, tracks=4.0)
        write_log(simulate(users, {"AA": 2}, seed=args.seed + 1), Path(folder))
        plan = make_plan(parse_args([folder, "--mde", f"{MDE:%}", "--power", str(args.power)]))
    print(markdown(plan))
    spread = {s.metric: s for s in plan.spreads}
    cases = [
        (
            "mean_time_per_session",
            math.ceil(users_needed(spread["mean_time_per_session"], MDE, 0.05, args.power)),
            MDE,
        ),
        ("time", TIME_USERS, mde_at(spread["time"], TIME_USERS, 0.05, args.power)),
    ]
    se = math.sqrt(args.power * (1 - args.power) / args.repetitions)
    print(f"{args.repetitions} repetitions each; binomial SE of the share {se:.1%}\n")
    print(
        "| metric | users per arm | injected effect | planned power | delta-method share "
        "| course share | s |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for metric, per_arm, effect in cases:
        started = time.monotonic()
        delta, course = share_significant(
            args.repetitions, round(2 * per_arm), effect, metric, 0.05, seed=args.seed + 10
        )
        print(
            f"| {metric} | {per_arm:,.0f} | {effect:+.2%} | {args.power:.0%} | {delta:.1%} | "
            f"{course:.1%} | {time.monotonic() - started:.0f} |"
        )


if __name__ == "__main__":
    main()
