"""The dashboard's numbers: botify ab's report over the events read so far, as JSON.

botify ab is two steps (offline.report.aggregate): the events reduced to the aggregation's tables
(one row per (user, arm), per complete session, per arm, per chain link, per data version), then
the statistics on those tables. Here the first step runs on the events the dashboard holds in
memory with the functions the polars engine runs on each of its partitions
(offline.report.polars_engine: assignment, metrics.unit_sums, metrics.arm_latency,
serving.link_counts and version_counts, the loss records), its tables checked and ordered as
aggregate.unit_rows checks an engine's; the second step is offline.report.ab.run's, call for call:
the units' means, the sample-ratio check, the serving account and its warnings, the effects table
with Holm, the arms table, and the always-valid interval of `botify ab --sequential` (peeking.path
at one look, the log's last event). Nothing is computed a second way, so the page shows botify
ab's numbers on the same events.

The always-valid interval is the one of a single look at the events read so far, as `botify ab
--sequential` gives it: valid whenever one looks (it is a confidence sequence), and the same
whatever moments the page happened to refresh at. The verdict is drawn from it, since a page
that refreshes is peeking; the course's fixed-horizon test is shown beside it, as botify ab
reports it, valid at the planned end only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from offline.logs.account import account_of
from offline.logs.errors import InputError
from offline.logs.losses import find_loss_records
from offline.logs.reading import KINDS, Log, time_span
from offline.report.ab import srm_counts, switched_users
from offline.report.aggregate import ARMS, LINKS, SESSIONS, UNITS, VERSIONS, UnitRows, conform
from offline.report.assignment import assign
from offline.report.metrics import (
    GOOD_DIRECTION,
    METRICS,
    arm_latency,
    arm_table,
    unit_sums,
    with_means,
)
from offline.report.peeking import path
from offline.report.serving import link_counts, serving_of, version_counts
from offline.report.stats import srm
from offline.report.text import SRM_ALPHA, interval, number, p_text

VERDICT_METRIC = "mean_time_per_session"  # botify experiment's verdict metric
BETTER, WORSE, UNDECIDED = "better", "worse", "undecided"


@dataclass(frozen=True)
class Judging:
    """botify ab's options that change its numbers."""

    control: str = "C"
    alpha: float = 0.05
    mde: float = 0.02  # the effect the always-valid test is tuned to (botify ab --mde)
    split: list[float] | None = None
    # experiment -> arm -> its own recommender (botify ab --config), where a config is known
    own: dict[str, dict[str, str]] = field(default_factory=dict)


def finite(value: Any) -> Any:
    """JSON's numbers: NaN and infinities (no number) become null, recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite(inner) for key, inner in value.items()}
    if isinstance(value, list | tuple):
        return [finite(inner) for inner in value]
    return value


def reading(log: Log) -> dict:
    """What reading found, as botify ab's 'lines' row says it."""
    return {
        "files": [str(path) for path in log.files],
        "lines": log.lines,
        "events": log.events.height,
        "bad": log.bad,
        "duplicates": log.duplicates,
        "skipped": {
            KINDS[kind]: {
                "lines": skipped.lines,
                "examples": [str(example) for example in skipped.examples],
            }
            for kind, skipped in log.skipped.items()
        },
        "truncated": [str(path) for path in log.truncated],
    }


def choose_experiment(
    names: dict[str, int], two_armed: dict[str, int], asked: str | None, preferred: str | None
) -> tuple[str, str]:
    """The experiment to show and why: the one asked for, else the run's routing experiment,
    else botify ab's rule (the alphabetically first named in the events), among those with two
    arms or more when there are any (a one-arm experiment, as botify experiment's day-1
    routing, has nothing to compare)."""
    if asked is not None:
        if asked not in names:
            found = ", ".join(names) or "none yet"
            raise InputError(f"experiment {asked!r} is not in the logs; experiments found: {found}")
        return asked, "asked for"
    candidates = two_armed or names
    if preferred is not None and preferred in candidates:
        return preferred, "the run's routing experiment"
    if not candidates:
        raise InputError("no experiment is named in the events' `experiments` fields yet")
    rule = "the alphabetically first of the logs' experiments, as botify ab chooses"
    if candidates is two_armed and len(two_armed) < len(names):
        rule = "the alphabetically first of the logs' experiments with two arms or more"
    return min(candidates), rule


def known(value: Any) -> bool:
    return isinstance(value, float) and math.isfinite(value)


def decision(metric: str, lower: float, upper: float) -> str:
    """BETTER or WORSE when the always-valid interval (%) excludes 0 on the metric's good or
    bad side (metrics.GOOD_DIRECTION), else UNDECIDED."""
    if lower > 0 or upper < 0:
        return BETTER if (lower > 0) == (GOOD_DIRECTION[metric] > 0) else WORSE
    return UNDECIDED


def effect_rows(rows: UnitRows, units: pl.DataFrame, judging: Judging) -> list[dict]:
    """botify ab's effects table, each row with its always-valid interval (%) and decision."""
    from offline.report.effects import effects_table  # scipy: only once there is something

    arms, control = rows.arm_names, judging.control
    table = effects_table(units, arms, control, judging.alpha)
    # botify ab --sequential's one look, at the last event: peeking.path, as its report calls it
    look = path(units, rows.sessions, arms, control, judging.alpha, judging.mde, [rows.span[1]])
    sequential = {(r["treatment"], r["metric"]): r for r in look.iter_rows(named=True)}
    effects = []
    for row in table.iter_rows(named=True):
        valid = sequential[row["treatment"], row["metric"]]
        lower, upper = valid["sequential_lower"], valid["sequential_upper"]
        effects.append(
            row
            | {
                "sequential_lower": lower,
                "sequential_upper": upper,
                "sequential_p": valid["sequential_p"],
                "sequential_significant": valid["sequential_significant"],
                "good_direction": "higher" if GOOD_DIRECTION[row["metric"]] > 0 else "lower",
                "decision": decision(row["metric"], lower, upper),
                "text": effect_text(row, lower, upper, valid["sequential_p"]),
            }
        )
    return effects


def yes_no(value: bool) -> str:
    return "yes" if value else "no"


def effect_text(row: dict, lower: float, upper: float, p_value: float) -> dict[str, str]:
    """The row's figures written as botify ab's report writes them (offline.report.text)."""
    return {
        "control_mean": number(row["control_mean"]),
        "treatment_mean": number(row["treatment_mean"]),
        "effect": number(row["effect"], "+.2f"),
        "interval": interval(row["lower"], row["upper"]),
        "significant": yes_no(row["significant"]),
        "p_value": p_text(row["p_value"]),
        "p_holm": p_text(row["p_holm"]),
        "significant_holm": yes_no(row["significant_holm"]),
        "delta_interval": interval(row["delta_lower"], row["delta_upper"]),
        "sequential_interval": interval(lower, upper),
        "sequential_p": p_text(p_value),
    }


def arm_rows(summary: pl.DataFrame) -> list[dict]:
    """botify ab's Arms table, each row with its figures as the report writes them."""
    rows = []
    for row in summary.with_columns(pl.col("arm").cast(pl.String)).to_dicts():
        text = {name: f"{row[name]:,}" for name in ("users", "events", "sessions")}
        text["incomplete_sessions"] = f"{row['incomplete_sessions']:,}"
        text["latency_p50_ms"] = number(row["latency_p50_ms"], ".2f")
        text["latency_p99_ms"] = number(row["latency_p99_ms"], ".2f")
        rows.append(row | {"text": text})
    return rows


def verdict(
    effects: list[dict], control: str, srm_failed: bool, srm_p: float, warnings: int
) -> dict:
    """The verdict in words, per treatment arm, from the always-valid decisions."""
    lines = []
    for row in effects:
        if row["metric"] != VERDICT_METRIC:
            continue
        arm = row["treatment"]
        low, high = row["sequential_lower"], row["sequential_upper"]
        interval = f"always-valid [{low:+.2f}, {high:+.2f}]" if known(low) else "no interval yet"
        effect = f"{row['effect']:+.2f}%" if known(row["effect"]) else "no effect yet"
        if row["decision"] == UNDECIDED:
            text = f"{arm}: no decision yet on {VERDICT_METRIC} ({effect}, {interval} holds 0)"
            if row["significant"]:
                text += "; the fixed-horizon interval excludes 0, but holds only at the planned end"
        else:
            text = f"{arm} is {row['decision']} than {control} on {VERDICT_METRIC}: {effect}, "
            text += interval
        worse = [
            r["metric"]
            for r in effects
            if r["treatment"] == arm and r["metric"] != VERDICT_METRIC and r["decision"] == WORSE
        ]
        if worse:
            text += f"; worse on {', '.join(worse)}"
        lines.append(text)
    if srm_failed:
        headline = (
            f"Sample ratio mismatch (p = {srm_p:.2g} < {SRM_ALPHA}): do not trust these results"
        )
    elif any(row["decision"] == BETTER and row["metric"] == VERDICT_METRIC for row in effects):
        headline = "A treatment is better"
    elif any(row["decision"] == WORSE and row["metric"] == VERDICT_METRIC for row in effects):
        headline = "A treatment is worse"
    else:
        headline = "No decision yet"
    if warnings and not srm_failed:
        headline += f" ({warnings} serving warning{'s' if warnings > 1 else ''}: see Serving)"
    return {"headline": headline, "metric": VERDICT_METRIC, "arms": lines}


def unit_rows_of(log: Log, experiment: str) -> UnitRows:
    """The aggregation's tables of `experiment` over the events of `log`: the polars engine's
    functions on the whole log at once, the tables checked and ordered as
    offline.report.aggregate.unit_rows checks and orders an engine's."""
    assignment = assign(log, experiment)
    events = assignment.events
    units, sessions = unit_sums(events)
    arm = pl.Enum(assignment.arms)

    def checked(frame: pl.DataFrame, schema: dict, what: str, *order: str) -> pl.DataFrame:
        frame = conform(frame.with_columns(pl.col("arm").cast(pl.String)), schema, what)
        return frame.with_columns(pl.col("arm").cast(arm)).sort(*order, nulls_last=True)

    return UnitRows(
        account=account_of(log),
        experiment=experiment,
        units=checked(units, UNITS, "units", "user", "arm"),
        sessions=checked(sessions, SESSIONS, "sessions", "user", "arm", "end_ms"),
        arms=checked(arm_latency(events), ARMS, "arms", "arm"),
        links=checked(link_counts(events), LINKS, "links", "arm", "link"),
        versions=conform(version_counts(events), VERSIONS, "versions").sort("first_ms"),
        span=time_span(events) if events.height else (0, 0),
        unassigned_events=assignment.unassigned_events,
        lost=find_loss_records(log.files),
        arm_names=assignment.arms,
    )


def judge(log: Log, experiment: str, judging: Judging) -> dict:
    """botify ab's report on `experiment` over `log`, as JSON-ready values. Raises InputError
    as botify ab does (no arm, one arm, an unknown control)."""
    rows = unit_rows_of(log, experiment)
    arms = rows.arm_names
    if judging.control not in arms:
        raise InputError(
            f"the control arm {judging.control!r} is not an arm of {experiment} in the logs "
            f"(yet); arms found: {', '.join(arms)}"
        )
    if len(arms) < 2:
        raise InputError(f"experiment {experiment!r} has only arm {arms[0]} in the logs so far")
    # From here on, offline.report.ab.run's statistics on the tables.
    units = with_means(rows.units)
    users = dict(units.group_by(pl.col("arm").cast(pl.String)).len().iter_rows())
    names, counts = srm_counts(users, arms, judging.split)
    split = judging.split or [1.0] * len(names)
    chi2, p = srm(counts, split)
    srm_failed = bool(p < SRM_ALPHA)
    serving = serving_of(
        rows.links, rows.versions, rows.lost, rows.span, judging.own.get(experiment)
    )
    effects = effect_rows(rows, units, judging)
    total = sum(counts)
    expected = [w / sum(split) for w in split]
    return finite(
        {
            "experiment": experiment,
            "control": judging.control,
            "alpha": judging.alpha,
            "mde": judging.mde,
            "metrics": list(METRICS),
            "span_ms": list(rows.span),
            "events": int(units["events"].sum()),
            "unassigned_events": rows.unassigned_events,
            "users": units["user"].n_unique(),
            "switched_users": switched_users(units).height,
            "arms": arm_rows(arm_table(units, rows.arms)),
            "srm": {
                "arms": [
                    {
                        "arm": arm,
                        "users": count,
                        "share": count / total if total else math.nan,
                        "expected_share": share,
                    }
                    for arm, count, share in zip(names, counts, expected, strict=True)
                ],
                "chi2": chi2,
                "p": p,
                "text": {"chi2": number(chi2, ".2f"), "p": p_text(p)},
                "failed": srm_failed,
                "alpha": SRM_ALPHA,
            },
            "effects": effects,
            "serving": {
                "links": serving.links.with_columns(pl.col("arm").cast(pl.String)).to_dicts(),
                "versions": serving.versions.to_dicts(),
                "lost_events": serving.lost_events,
                "loss_records": len(serving.lost),
                "warnings": serving.warnings,
                "link_failures": int(serving.links["failed"].sum()),
                "fallback_answers": fallback_answers(serving.links, serving.own),
            },
            "verdict": verdict(effects, judging.control, srm_failed, p, len(serving.warnings)),
        }
    )


def fallback_answers(links: pl.DataFrame, own: dict[str, str]) -> int | None:
    """Requests answered by a link other than the arm's own (known only from a config)."""
    if not own:
        return None
    answered = links.filter(pl.col("link").is_not_null())
    return sum(
        int(count)
        for arm, link, count in answered.select("arm", "link", "answered").iter_rows()
        if str(arm) in own and link != own[str(arm)]
    )
