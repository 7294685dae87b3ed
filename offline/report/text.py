"""The report's text: a markdown header and tables, and the effects as CSV."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from offline.logs.account import LogAccount
from offline.logs.reading import KINDS
from offline.report.serving import Serving

SRM_ALPHA = 0.001
MAX_SWITCHED_SHOWN = 5


@dataclass
class Report:
    experiment: str
    control: str
    alpha: float
    log: LogAccount
    arm_names: list[str]  # the experiment's arms in the logs, in arm order
    span: tuple[int, int]  # the experiment's first and last event (ms)
    events: int  # the experiment's events
    users: int
    unassigned_events: int  # events without an arm of the experiment
    # users seen in more than one arm: user, arms (in order of first appearance)
    switched_users: pl.DataFrame
    arms: pl.DataFrame  # metrics.arm_table
    split: list[float]  # configured weight of each arm of srm_arms
    srm_arms: list[str]
    srm_chi2: float
    srm_p: float
    effects: pl.DataFrame  # effects.effects_table
    pre_log: LogAccount | None = None
    pre_users: int = 0
    serving: Serving | None = None

    @property
    def srm_failed(self) -> bool:
        return self.srm_p < SRM_ALPHA


def number(value: float | int | None, spec: str = ".4f") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return format(value, spec)


def p_text(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "n/a"
    if value < 1e-15:  # below double precision's resolution near 1: printing digits would lie
        return "< 1e-15"
    return f"{value:.2g}" if value >= 0.0001 else f"{value:.1e}"


def yes_no(value: bool | None) -> str:
    return "n/a" if value is None else ("**yes**" if value else "no")


def table(header: list[str], rows: list[list[str]], right_from: int = 1) -> str:
    align = ["---" if i < right_from else "---:" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def utc(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def duration(ms: int) -> str:
    seconds = ms / 1000
    for unit, size in (("days", 86_400), ("h", 3_600), ("min", 60)):
        if seconds >= 2 * size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


def srm_verdict(report: Report) -> str:
    split = ":".join(f"{w:g}" for w in report.split)
    arms = ", ".join(report.srm_arms)
    stats = f"chi2 = {number(report.srm_chi2, '.2f')}, p = {p_text(report.srm_p)}"
    if report.srm_failed:
        return (
            f"**SAMPLE RATIO MISMATCH: users per arm ({arms}) do not follow the split {split} "
            f"({stats} < {SRM_ALPHA}). Do not trust these results: find out why first.**"
        )
    return f"ok: users per arm ({arms}) fit the split {split} ({stats})"


def log_lines(log: LogAccount) -> str:
    skipped = log.skipped_lines
    text = f"{log.lines:,} read from {len(log.files)} files, {skipped:,} skipped"
    if skipped:
        text += f" ({skipped / log.lines:.3%}): " + "; ".join(
            f"{kind.lines:,} {KINDS[name]}, e.g. " + ", ".join(b.named(name) for b in kind.examples)
            for name, kind in log.skipped.items()
        )
    if log.truncated:
        text += f"; cut final line (log copied mid-write) in: {', '.join(map(str, log.truncated))}"
    return text


def header(report: Report) -> str:
    arms = report.arms
    first_ms, last_ms = report.span
    incomplete = int(arms["incomplete_sessions"].sum())
    switched = report.switched_users
    rows = [
        ["log span", f"{utc(first_ms)} to {utc(last_ms)} UTC ({duration(last_ms - first_ms)})"],
        ["lines", log_lines(report.log)],
        [
            "events",
            f"{report.events:,} in the experiment, "
            f"{report.unassigned_events:,} without an arm of it (left out)",
        ],
        ["users", f"{report.users:,}"],
        [
            "sessions",
            f"{int(arms['sessions'].sum()):,} complete; {incomplete:,} incomplete "
            f"({int(arms['incomplete_events'].sum()):,} events after a user's last `last`: "
            "left out of the metrics, as in the course)",
        ],
    ]
    if switched.height:
        shown = ", ".join(
            f"{user} ({' > '.join(arms_)})"
            for user, arms_ in switched.head(MAX_SWITCHED_SHOWN).iter_rows()
        )
        rows.append(
            [
                "users whose arm changed",
                f"**{switched.height:,}**: {shown} (each arm counts them separately)",
            ]
        )
    if report.pre_log is not None:
        rows.append(
            [
                "pre-period (CUPED)",
                f"{report.pre_log.events:,} events of "
                f"{report.pre_users:,} users; " + log_lines(report.pre_log),
            ]
        )
    if report.serving is not None and report.serving.lost:
        rows.append(["events lost by the log", f"**{report.serving.lost_events:,}** (see above)"])
    rows.append(["SRM", srm_verdict(report)])
    return table(["", ""], rows, right_from=2)


def serving_markdown(serving: Serving) -> str:
    """Which link answered each arm's requests, which failed, and the data versions."""
    rows = [
        [
            str(arm),
            "(not logged)"
            if link is None
            else f"`{link}`" + (" (own)" if serving.own.get(str(arm)) == link else ""),
            f"{answered:,}",
            f"{answered / requests:.1%}" if requests else "",
            f"{failed:,}",
        ]
        for arm, link, requests, answered, failed in serving.links.iter_rows()
    ]
    parts = [table(["arm", "link", "answered", "share of requests", "failed"], rows, 2)]
    versions = [
        [
            "(not logged)" if version is None else f"`{version}`",
            f"{events:,}",
            f"{utc(first)} to {utc(last)}",
        ]
        for version, events, first, last in serving.versions.iter_rows()
    ]
    parts += ["Data versions:", table(["data version", "events", "served"], versions, 2)]
    return "\n\n".join(parts)


def arms_table(report: Report) -> str:
    rows = [
        [
            str(arm),
            f"{users:,}",
            f"{sessions:,}",
            f"{events:,}",
            f"{incomplete:,}",
            number(p50, ".2f"),
            number(p99, ".2f"),
        ]
        for arm, users, events, sessions, incomplete, _, p50, p99 in report.arms.iter_rows()
    ]
    columns = [
        "arm",
        "users",
        "sessions",
        "events",
        "incomplete sessions",
        "latency p50, ms",
        "latency p99, ms",
    ]
    return table(columns, rows)


def interval(lower: float | None, upper: float | None) -> str:
    return f"[{number(lower, '+.2f')}, {number(upper, '+.2f')}]"


# An effect as both of its tables show it: the course's (prefix "") and CUPED's ("cuped_").
EFFECT_HEADINGS = ["effect %", "interval %", "significant"]


def effect_cells(row: dict, prefix: str = "") -> list[str]:
    return [
        number(row[f"{prefix}effect"], "+.2f"),
        interval(row[f"{prefix}lower"], row[f"{prefix}upper"]),
        yes_no(row[f"{prefix}significant"]),
    ]


def effects_markdown(report: Report) -> str:
    rows = [
        [
            row["treatment"],
            row["metric"],
            number(row["control_mean"]),
            number(row["treatment_mean"]),
            *effect_cells(row),
            p_text(row["p_value"]),
            p_text(row["p_holm"]),
            yes_no(row["significant_holm"]),
            interval(row["delta_lower"], row["delta_upper"]),
        ]
        for row in report.effects.iter_rows(named=True)
    ]
    columns = ["arm", "metric", "control", "treatment", *EFFECT_HEADINGS]
    columns += ["p", "p Holm", "significant (Holm)", "delta-method interval %"]
    return table(columns, rows, right_from=2)


def cuped_markdown(report: Report) -> str:
    rows = [
        [
            row["treatment"],
            row["metric"],
            *effect_cells(row, "cuped_"),
            number(row["variance_reduction"], ".1f"),
            number(row["pre_coverage"], ".1f"),
        ]
        for row in report.effects.iter_rows(named=True)
    ]
    columns = ["arm", "metric", *EFFECT_HEADINGS]
    columns += ["variance reduction %", "users with a pre-period value %"]
    return table(columns, rows, right_from=2)


def markdown(report: Report) -> str:
    level = f"{1 - report.alpha:.4g}"
    parts = [f"# A/B report: {report.experiment}"]
    if report.srm_failed:
        parts.append(f"> {srm_verdict(report)}")
    serving = report.serving
    if serving is not None:
        parts += [f"> **Warning**: {warning}." for warning in serving.warnings]
    parts += [
        header(report),
        "## Arms",
        arms_table(report),
    ]
    if serving is not None:
        parts += [
            "## How each arm was served",
            serving_markdown(serving),
            "A request is answered by the first link of the arm's chain that gives a track of "
            "the catalog; `failed`: the link raised or answered something else (links that "
            "had nothing to say, such as no list for the user, are not failures).",
        ]
    parts += [
        f"## Effects against {report.control} ({level} intervals)",
        effects_markdown(report),
        f"Effect: (treatment mean - control mean) / control mean, in %, on user-level values; "
        f"interval: Welch's t interval of the difference divided by the control mean, as in the "
        f"course. Holm: adjusted across all {report.effects.height} arm x metric tests. "
        "Delta-method interval: the relative lift's interval that also accounts for the "
        "uncertainty of the control mean. mean_request_latency is in ms. "
        "mean_time_per_session is the report's count of mean session time (the course's): "
        "per user, the listened fractions of every logged track of their sessions, each "
        "session's first track included, over their sessions; a simulator may count session "
        "time otherwise (botify's counts the tracks after the first, per session).",
    ]
    if "cuped_effect" in report.effects.columns:
        parts += [
            f"## CUPED against {report.control} ({level} intervals)",
            cuped_markdown(report),
            "Each user's same metric in the pre-period is the covariate (users without one are "
            "left unadjusted); variance reduction is that of the difference of means.",
        ]
    return "\n\n".join(parts) + "\n"


def write_csv(effects: pl.DataFrame, path: Path) -> None:
    effects.write_csv(path, float_precision=10)
