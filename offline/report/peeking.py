"""Looking at an experiment before its end: `botify ab --sequential`, `--every`, `--looks`.

- `--sequential` adds always-valid intervals and p-values (offline.report.sequential) of every arm x
  metric's lift: valid however often, and whenever, the experiment is looked at.
- `--every DURATION` (30s, 10min, 2h, 1d) or `--looks N` (equally spaced) recomputes the report
  at each look over the events up to it, from the first event to the last, and shows the
  verdict's path: the course's fixed-horizon test and the always-valid one at every look, and the
  first look at which each became significant. The sequential test's interval and p-value at a
  look are the running intersection and minimum over the looks up to it; with --sequential alone
  there is one look, at the end. The fixed-horizon test is valid at one planned look only: its
  first significant look is exactly what peeking inflates.

Choices where the issue is silent: the path's table shows mean_time_per_session (the verdict's
metric of `botify experiment`), path.csv every arm x metric; the last look is always the log's
end, even when --every does not divide the span; sessions still open at a look are left out at
that look (as the report leaves out those open at the log's end).
"""

from __future__ import annotations

import argparse
import math
import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from offline.logs.errors import InputError
from offline.report.metrics import METRICS, with_means
from offline.report.sequential import NOTHING, AlwaysValid, always_valid, running
from offline.report.stats import Sample, course_effect, lift_variance
from offline.report.text import interval, number, p_text, table, utc, yes_no

PATH_METRIC = "mean_time_per_session"
UNITS_MS = {"ms": 1, "s": 1_000, "min": 60_000, "h": 3_600_000, "d": 86_400_000}


def duration_ms(text: str) -> int:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|min|h|d)\s*", text)
    if not match or not float(match[1]) > 0:
        raise ValueError(text)
    return max(1, round(float(match[1]) * UNITS_MS[match[2]]))


def looks_value(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 1_000:
        raise ValueError(text)
    return value


duration_ms.__name__ = "duration (e.g. 30s, 10min, 2h, 1d)"
looks_value.__name__ = "number of looks (1 to 1000)"


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sequential",
        action="store_true",
        help="add always-valid intervals and p-values (a mixture SPRT): safe to peek",
    )
    parser.add_argument(
        "--mde",
        type=mde_value,
        default=0.02,
        metavar="EFFECT",
        help="the relative effect the sequential test is tuned to, e.g. the planned MDE (2%%)",
    )
    when = parser.add_mutually_exclusive_group()
    when.add_argument(
        "--every",
        type=duration_ms,
        metavar="DURATION",
        help="look every DURATION of the log's span (30s, 10min, 2h, 1d): the verdict's path",
    )
    when.add_argument(
        "--looks", type=looks_value, metavar="N", help="N equally spaced looks instead"
    )


def mde_value(text: str) -> float:
    value = float(text.rstrip("%")) / (100 if text.endswith("%") else 1)
    if not 0 < value < 10:
        raise ValueError(text)
    return value


mde_value.__name__ = "relative effect (e.g. 2% or 0.02)"


def look_times(first_ms: int, last_ms: int, every_ms: int | None, looks: int | None) -> list[int]:
    """The end of each look (inclusive), the last one at the log's last event."""
    if every_ms is not None:
        count = math.ceil((last_ms - first_ms) / every_ms)
        if count > 1_000:
            raise InputError(
                f"--every gives {count:,} looks over the log's span; at most 1,000: look less often"
            )
        times = [first_ms + k * every_ms for k in range(1, count)]
    else:
        n = looks or 1
        times = [first_ms + round((last_ms - first_ms) * k / n) for k in range(1, n)]
    return [*times, last_ms]


@dataclass(frozen=True)
class Comparison:
    treatment: str
    metric: str
    control: Sample
    treat: Sample


def comparisons(units: pl.DataFrame, arms: list[str], control: str) -> list[Comparison]:
    by_arm = {str(key[0]): part for key, part in units.partition_by("arm", as_dict=True).items()}
    empty = units.clear()

    def sample(arm: str, metric: str) -> Sample:
        return Sample.of(by_arm.get(arm, empty)[metric].to_numpy().astype(float))

    return [
        Comparison(treatment, metric, sample(control, metric), sample(treatment, metric))
        for treatment in arms
        if treatment != control
        for metric in METRICS
    ]


def units_at(units: pl.DataFrame, sessions: pl.DataFrame, end_ms: int) -> pl.DataFrame | None:
    """The units and their METRICS over the events up to `end_ms`, from the aggregation's rows
    (offline.report.aggregate): a unit is seen once its first event is, and a session counts
    once its `last` event is (the events up to a time are a prefix of each unit's events, so
    its sessions then are its sessions closed by then). None before the first event."""
    seen = units.filter(pl.col("first_ms") <= end_ms).select("user", "arm")
    if not seen.height:
        return None
    sums = (
        sessions.filter(pl.col("end_ms") <= end_ms)
        .group_by("user", "arm", maintain_order=True)
        .agg(
            sessions=pl.len().cast(pl.Int64),
            tracks=pl.col("tracks").sum(),
            time=pl.col("time").sum(),
            latency_ms=pl.col("latency_ms").sum(),
        )
    )
    counted = seen.join(sums, on=["user", "arm"], how="left", maintain_order="left")
    return with_means(
        counted.with_columns(
            pl.col("sessions", "tracks").fill_null(0), pl.col("time", "latency_ms").fill_null(0.0)
        )
    )


def path(
    units: pl.DataFrame,
    sessions: pl.DataFrame,
    arms: list[str],
    control: str,
    alpha: float,
    tau: float,
    times: list[int],
) -> pl.DataFrame:
    """One row per look x arm x metric: the course's fixed-horizon effect and the always-valid
    interval and p-value over the looks so far (effects in %), from the aggregation's unit and
    session rows."""
    rows = []
    so_far: dict[tuple[str, str], AlwaysValid] = {}
    for look, end_ms in enumerate(times, start=1):
        seen = units_at(units, sessions, end_ms)
        for c in comparisons(seen, arms, control) if seen is not None else []:
            fixed = course_effect(c.control, c.treat, alpha)
            lift, var = lift_variance(c.control, c.treat)
            key = (c.treatment, c.metric)
            now = running(so_far.get(key, NOTHING), always_valid(lift, var, tau, alpha))
            so_far[key] = now
            rows.append(
                {
                    "look": look,
                    "at_ms": end_ms,
                    "users": seen.height if seen is not None else 0,
                    "treatment": c.treatment,
                    "metric": c.metric,
                    "effect": fixed.effect,
                    "lower": fixed.lower,
                    "upper": fixed.upper,
                    "significant": fixed.significant,
                    "sequential_lower": now.lower * 100,
                    "sequential_upper": now.upper * 100,
                    "sequential_p": now.p_value,
                    "sequential_significant": now.significant,
                }
            )
    return pl.DataFrame(rows, infer_schema_length=None)


def first_significant(rows: pl.DataFrame, column: str) -> str:
    hits = rows.filter(pl.col(column))
    if not hits.height:
        return "never"
    first = hits.row(0, named=True)
    later = rows.filter(pl.col("look") > first["look"])
    stayed = "" if later[column].all() else ", not at every later look"
    return f"look {first['look']} ({utc(first['at_ms'])}){stayed}"


def sequential_markdown(last: pl.DataFrame, control: str, alpha: float, tau: float) -> str:
    rows = [
        [
            row["treatment"],
            row["metric"],
            number(row["effect"], "+.2f"),
            interval(row["sequential_lower"], row["sequential_upper"]),
            p_text(row["sequential_p"]),
            yes_no(row["sequential_significant"]),
        ]
        for row in last.iter_rows(named=True)
    ]
    columns = ["arm", "metric", "effect %", "always-valid interval %", "p", "significant"]
    note = (
        f"A normal-mixture sequential test (mixture SPRT) of the delta-method lift, tuned to a "
        f"{tau:.2%} effect: at any look, and however many, a true null is rejected with "
        f"probability at most {alpha:g}."
    )
    heading = f"## Always-valid against {control} ({1 - alpha:.4g} confidence sequences)"
    return "\n\n".join([heading, table(columns, rows, right_from=2), note])


def path_markdown(rows: pl.DataFrame, first_ms: int) -> str:
    shown = rows.filter(pl.col("metric") == PATH_METRIC)
    lines = [
        [
            str(row["look"]),
            f"{utc(row['at_ms'])} (+{(row['at_ms'] - first_ms) / 1000:,.0f} s)",
            f"{row['users']:,}",
            row["treatment"],
            number(row["effect"], "+.2f"),
            interval(row["lower"], row["upper"]),
            yes_no(row["significant"]),
            interval(row["sequential_lower"], row["sequential_upper"]),
            yes_no(row["sequential_significant"]),
        ]
        for row in shown.iter_rows(named=True)
    ]
    columns = ["look", "at (UTC)", "users", "arm", "effect %", "interval %", "significant"]
    columns += ["always-valid interval %", "significant (always valid)"]
    firsts = [
        [
            treatment,
            metric,
            first_significant(part, "significant"),
            first_significant(part, "sequential_significant"),
        ]
        for (treatment, metric), part in rows.group_by("treatment", "metric", maintain_order=True)
    ]
    return "\n\n".join(
        [
            f"## The verdict over time: {PATH_METRIC}",
            table(columns, lines, right_from=2),
            "### First significant look",
            table(["arm", "metric", "fixed horizon", "always valid"], firsts, right_from=2),
            "The fixed-horizon test is valid at one planned look: a first significant look "
            "before the planned end is what peeking inflates. The always-valid test holds at "
            "every look.",
        ]
    )


def peeking_report(
    args: argparse.Namespace,
    units: pl.DataFrame,
    sessions: pl.DataFrame,
    arms: list[str],
    span: tuple[int, int],
    out: Path,
) -> str:
    """The report's sections for --sequential, --every and --looks ("" without them), from the
    aggregation's unit and session rows and the experiment's span; the path's every row goes to
    out/path.csv."""
    if not (args.sequential or args.every or args.looks):
        return ""
    first_ms, last_ms = span
    times = look_times(first_ms, last_ms, args.every, args.looks)
    rows = path(units, sessions, arms, args.control, args.alpha, args.mde, times)
    last = rows.filter(pl.col("look") == len(times))
    parts = [sequential_markdown(last, args.control, args.alpha, args.mde)]
    if len(times) > 1:
        parts.append(path_markdown(rows, first_ms))
        try:
            out.mkdir(parents=True, exist_ok=True)
            rows.write_csv(out / "path.csv", float_precision=10)
        except OSError as error:
            raise InputError(f"cannot write to --out {out}: {error.strerror or error}") from None
    return "\n" + "\n\n".join(parts) + "\n"
