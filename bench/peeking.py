"""Is peeking safe with `botify ab --sequential`? A/A repetitions looked at many times.

    .venv/bin/python bench/peeking.py [--repetitions 400] [--looks 20] [--users 2000]

1. A/A: each repetition (its own lab.synthetic users, mmh3 buckets) is looked at --looks times,
   equally spaced over its span, as `botify ab --looks N` looks. The share of repetitions ever
   significant at some look: the course's fixed-horizon test (valid at one planned look) and the
   always-valid test (offline.report.sequential, tuned to the MDE below).
2. Power: the same with T1's listened fractions x (1 + MDE), where MDE is what `botify plan`
   gives for 80% power at the repetition's final size: the share significant at the last look
   (and ever) for both tests; then at the larger size `botify plan` gives the always-valid test
   for 80% power at that MDE ("users per arm, always valid").
Metric: mean_time_per_session, alpha 0.05.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from lab.repetitions import peeks, population
from offline.report.metrics import unit_metrics
from offline.report.plan import mde_at, sequential_users_needed, spreads

METRIC = "mean_time_per_session"
ALPHA = 0.05


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repetitions", type=int, default=400)
    parser.add_argument("--looks", type=int, default=20)
    parser.add_argument("--users", type=int, default=2_000, help="per repetition, both arms")
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()

    units = unit_metrics(population(20_000, seed=args.seed)).units
    spread = next(s for s in spreads(units) if s.metric == METRIC)
    mde = mde_at(spread, args.users / 2, ALPHA, 0.8)
    se = math.sqrt(ALPHA * (1 - ALPHA) / args.repetitions)
    print(
        f"{args.repetitions} repetitions of {args.users:,} users, {args.looks} looks each, "
        f"{METRIC}, alpha {ALPHA}; the always-valid test tuned to the planned MDE {mde:.2%} "
        f"(80% power at the last look); binomial SE of a 5% share {se:.1%}\n"
    )
    print("| repetitions | test | significant at the last look | ever significant | s |")
    print("|---|---|---:|---:|---:|")
    sequential_users = round(2 * sequential_users_needed(spread, mde, ALPHA, 0.8))
    cases = [
        ("A/A", args.users, 0.0),
        (f"A/B +{mde:.2%}", args.users, mde),
        (
            f"A/B +{mde:.2%}, {sequential_users:,} users (always valid's plan)",
            sequential_users,
            mde,
        ),
    ]
    for name, users, effect in cases:
        started = time.monotonic()
        result = peeks(
            args.repetitions, users, effect, METRIC, args.looks, ALPHA, mde, args.seed + 1
        )
        seconds = time.monotonic() - started
        for test, found in (("fixed horizon", result.fixed), ("always valid", result.sequential)):
            print(
                f"| {name} | {test} | {np.mean(found[:, -1]):.1%} | "
                f"{np.mean(found.any(axis=1)):.1%} | {seconds:.0f} |"
            )


if __name__ == "__main__":
    main()
