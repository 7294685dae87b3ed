"""`botify plan LOG...`: how many users an A/B experiment needs, from a log of the population.

    botify plan LOG... [--mde 2%] [--power 0.8] [--alpha 0.05] [--arms 2]
                [--users N | --sessions N] [--experiment NAME --arm C] [--pre LOG...]
                [--expected-lift 3%]

For each of the report's metrics (offline.report.metrics: the same (user, arm) unit and
definitions as `botify ab`), the population's mean and spread give, by the delta method
(offline.report.sizing), the users per arm needed to detect a relative effect of --mde at
--alpha with --power, and the minimum detectable effect at a given size (--users or --sessions
per arm; by default the log's own users split over --arms). With --pre (an earlier period's
logs), the spread is that of CUPED-adjusted values, as `botify ab --pre` would adjust them.
With --expected-lift (the effect a prediction expects, such as `botify ope`'s estimate of the
next chain), the test is also sized for that effect: the users per arm it needs and the power
at the size of the MDE column, to set beside the verdict the test then gives.

Choices where the issue is silent:
- The population is every user of the log, whatever their arms, unless --experiment and --arm
  pick one arm's users (a day where a treatment ran).
- Users a metric has no value for (no complete session) are part of the size: the users needed
  are the values needed divided by the share of users with a value.
- Sessions per arm are users per arm times the log's complete sessions per user: they hold for
  an experiment whose users come back as often as the log's did.
- Each comparison is planned at --alpha alone; `botify ab`'s Holm correction over arms and
  metrics is stricter, so plan at a smaller --alpha to size for it.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass

import numpy as np
import polars as pl

from offline.logs.errors import InputError, run_command
from offline.logs.reading import Log
from offline.report.ab import (
    ArgumentParser,
    add_max_bad_lines,
    alpha_value,
    load,
    pre_period_units,
    share,
)
from offline.report.assignment import assign
from offline.report.metrics import METRICS, unit_metrics
from offline.report.peeking import mde_value
from offline.report.sizing import (
    detectable_lift,
    power_at,
    sequential_units_needed,
    units_needed,
)
from offline.report.stats import cuped_with_gaps
from offline.report.text import number, table


@dataclass(frozen=True)
class Spread:
    """One metric over the population's users."""

    metric: str
    users: int
    with_value: int  # users with a value of the metric
    mean: float
    sd: float
    # share of the variance that CUPED removes, None without a pre-period
    variance_reduction: float | None = None

    @property
    def cv(self) -> float:
        """Coefficient of variation of the values the test sees (CUPED-adjusted with --pre)."""
        reduction = self.variance_reduction or 0.0
        return self.sd * math.sqrt(1 - reduction) / abs(self.mean) if self.mean else math.nan

    @property
    def value_share(self) -> float:
        return self.with_value / self.users if self.users else math.nan


def spreads(units: pl.DataFrame, pre_units: pl.DataFrame | None = None) -> list[Spread]:
    """Per metric, from `units` (one row per user: user and METRICS) and optionally the same of
    an earlier period (users matched by id)."""
    if pre_units is not None:
        renamed = pre_units.select("user", *[pl.col(m).alias(f"pre_{m}") for m in METRICS])
        units = units.join(renamed, on="user", how="left")
    result = []
    for metric in METRICS:
        values = units.filter(pl.col(metric).is_not_nan())
        y = values[metric].to_numpy().astype(float)
        reduction = None
        if pre_units is not None and len(y) > 1:
            adjusted = cuped_with_gaps(y, values[f"pre_{metric}"].to_numpy().astype(float))
            var = float(np.var(y, ddof=1))
            reduction = 0.0 if adjusted is None or not var else 1 - np.var(adjusted, ddof=1) / var
        result.append(
            Spread(
                metric=metric,
                users=units.height,
                with_value=len(y),
                mean=float(y.mean()) if len(y) else math.nan,
                sd=float(y.std(ddof=1)) if len(y) > 1 else math.nan,
                variance_reduction=None if reduction is None else float(reduction),
            )
        )
    return result


def users_needed(spread: Spread, mde: float, alpha: float, power: float) -> float:
    """Users per arm (with or without a value) for `power` at a relative effect `mde`."""
    return units_needed(spread.cv, mde, alpha, power) / spread.value_share


def sequential_users_needed(spread: Spread, mde: float, alpha: float, power: float) -> float:
    """The same for an experiment judged by `botify ab --sequential --mde MDE` at its end."""
    return sequential_units_needed(spread.cv, mde, alpha, power) / spread.value_share


def mde_at(spread: Spread, users: float, alpha: float, power: float) -> float:
    """The minimum detectable relative effect with `users` per arm."""
    return detectable_lift(spread.cv, users * spread.value_share, alpha, power)


def power_for(spread: Spread, users: float, lift: float, alpha: float) -> float:
    """The probability that the test at `alpha` with `users` per arm finds a true `lift`."""
    return power_at(spread.cv, users * spread.value_share, lift, alpha)


def population_units(log: Log, experiment: str | None, arm: str | None) -> pl.DataFrame:
    """The population's users and METRICS: every user of the log, or one arm's."""
    if experiment is None:
        return pre_period_units(log)
    assignment = assign(log, experiment)
    if arm not in assignment.arms:
        raise InputError(
            f"--arm {arm!r} is not an arm of {experiment} in the logs; "
            f"arms found: {', '.join(assignment.arms)}"
        )
    chosen = assignment.events.filter(pl.col("arm") == arm)
    return unit_metrics(chosen).units.select("user", *METRICS)


def sessions_per_user(units: pl.DataFrame) -> float:
    return float(units["sessions"].mean()) if units.height else math.nan  # type: ignore[arg-type]


def positive(kind):
    def parse(text: str):
        value = kind(text)
        if not value > 0:
            raise ValueError(text)
        return value

    parse.__name__ = f"positive {kind.__name__}"
    return parse


def power_value(text: str) -> float:
    value = share(text)
    if not 0.05 < value < 1:
        raise ValueError(text)
    return value


def arms_value(text: str) -> int:
    value = int(text)
    if value < 2:
        raise ValueError(text)
    return value


def lift_value(text: str) -> float:
    value = float(text.rstrip("%")) / (100 if text.endswith("%") else 1)
    if not (-1 < value < 10 and value != 0):
        raise ValueError(text)
    return value


power_value.__name__ = "power (between 0.05 and 1, e.g. 80%)"
lift_value.__name__ = "relative effect, not 0, above -100% (e.g. 3%, -1% or 0.03)"
arms_value.__name__ = "number of arms (2 or more)"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = ArgumentParser(
        prog="botify plan",
        description="Users and sessions per arm an A/B experiment needs, and the minimum "
        "detectable effect at a size, per metric of `botify ab`, from a log of the population.",
    )
    parser.add_argument("logs", nargs="+", metavar="LOG", help="the population's event logs")
    parser.add_argument(
        "--mde", type=mde_value, default=0.02, help="the relative effect to detect (2%%)"
    )
    parser.add_argument("--power", type=power_value, default=0.8, help="power (0.8)")
    parser.add_argument("--alpha", type=alpha_value, default=0.05, help="two-sided alpha (0.05)")
    parser.add_argument(
        "--arms", type=arms_value, default=2, help="arms of the experiment, control included (2)"
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument(
        "--users", type=positive(int), help="users per arm for the MDE column (the log's / arms)"
    )
    size.add_argument(
        "--sessions", type=positive(int), help="sessions per arm for the MDE column instead"
    )
    parser.add_argument("--experiment", metavar="NAME", help="take one arm's users of NAME ...")
    parser.add_argument("--arm", metavar="ARM", help="... this arm's (with --experiment)")
    parser.add_argument(
        "--pre", nargs="+", metavar="LOG", help="an earlier period's logs: plan with CUPED"
    )
    parser.add_argument(
        "--expected-lift",
        type=lift_value,
        metavar="LIFT",
        help="the effect expected (a prediction's, e.g. botify ope's): also the users per arm "
        "for it and the power at the MDE column's size",
    )
    add_max_bad_lines(parser)
    args = parser.parse_args(argv)
    if (args.experiment is None) != (args.arm is None):
        raise InputError("--experiment and --arm go together (one arm's users of an experiment)")
    return args


@dataclass(frozen=True)
class Plan:
    spreads: list[Spread]
    users: int  # in the population log
    sessions_per_user: float
    mde: float
    alpha: float
    power: float
    arms: int
    users_per_arm: float  # the size of the MDE column
    expected_lift: float | None = None  # the effect a prediction expects, if given


def make_plan(args: argparse.Namespace) -> Plan:
    units = population_units(load(args.logs, args.max_bad_lines, ""), args.experiment, args.arm)
    if units.height < 2:
        raise InputError(f"{units.height} users in {', '.join(args.logs)}: no spread to plan from")
    pre_units = None
    if args.pre:
        pre_units = pre_period_units(load(args.pre, args.max_bad_lines, " (--pre)"))
    per_user = sessions_per_user(units)
    if args.users:
        size = float(args.users)
    elif args.sessions:
        size = args.sessions / per_user
    else:
        size = units.height / args.arms
    return Plan(
        spreads(units, pre_units),
        units.height,
        per_user,
        args.mde,
        args.alpha,
        args.power,
        args.arms,
        size,
        args.expected_lift,
    )


def count(value: float) -> str:
    return "n/a" if not math.isfinite(value) else f"{math.ceil(value):,}"


def percent(value: float) -> str:
    return "n/a" if not math.isfinite(value) else f"{value * 100:.2f}%"


def markdown(plan: Plan) -> str:
    cuped = plan.spreads[0].variance_reduction is not None
    rows = []
    for s in plan.spreads:
        users = users_needed(s, plan.mde, plan.alpha, plan.power)
        row = [s.metric, f"{s.with_value:,}", number(s.mean), number(s.sd), number(s.cv, ".3f")]
        if cuped:
            row.append(number((s.variance_reduction or 0.0) * 100, ".1f"))
        row += [
            count(users),
            count(users * plan.sessions_per_user),
            count(users * plan.arms),
            count(sequential_users_needed(s, plan.mde, plan.alpha, plan.power)),
            percent(mde_at(s, plan.users_per_arm, plan.alpha, plan.power)),
        ]
        if plan.expected_lift is not None:
            lift = plan.expected_lift
            row += [
                count(users_needed(s, lift, plan.alpha, plan.power)),
                percent(power_for(s, plan.users_per_arm, lift, plan.alpha)),
            ]
        rows.append(row)
    columns = ["metric", "users with a value", "mean", "sd", "CV"]
    if cuped:
        columns.append("CUPED variance reduction %")
    columns += [
        f"users per arm for +{plan.mde:.2%}",
        "sessions per arm",
        f"users in all ({plan.arms} arms)",
        "users per arm, always valid",
        f"MDE at {plan.users_per_arm:,.0f} users per arm",
    ]
    if plan.expected_lift is not None:
        columns += [
            f"users per arm for {plan.expected_lift:+.2%} (expected)",
            f"power at {plan.users_per_arm:,.0f} users per arm for {plan.expected_lift:+.2%}",
        ]
    heading = (
        f"Population: {plan.users:,} users, {plan.sessions_per_user:.2f} complete sessions per "
        f"user. Two-sided alpha {plan.alpha:g}, power {plan.power:.0%}, {plan.arms} equal arms; "
        "the effect scales the metric."
        + (" CV of the values CUPED-adjusted by the pre-period's." if cuped else "")
    )
    notes = (
        "Sessions per arm: users per arm x the population's sessions per user (for users who "
        "come back as often). Always valid: judged at the end by `botify ab --sequential "
        f"--mde {plan.mde:g}`, which may be looked at any time. MDE: the smallest relative "
        "increase found with that power."
        + (
            " Expected: the effect given by --expected-lift; its power is the probability "
            f"that the test at alpha {plan.alpha:g} finds it."
            if plan.expected_lift is not None
            else ""
        )
    )
    return "\n\n".join(["# A/B plan", heading, table(columns, rows), notes]) + "\n"


def run(args: argparse.Namespace) -> int:
    print(markdown(make_plan(args)), end="")
    return 0


def main(argv: list[str]) -> int:
    return run_command("botify plan", lambda: run(parse_args(argv)))
