"""A learning loop's trajectory (`botify experiment --days N`): each day's effect of T1 against C
on mean_time_per_session, the report's count, with its interval.

A judged day's row is botify ab's own, read from the effects.csv that the loop's judge wrote for
the day's routing experiment (RUN/ab.day<d>.<EXPERIMENT>/, lab.days_loop.judge), as `botify
runs` reads it. The day still running, not judged yet, is the page's live figure of the same
experiment (lab.dashboard.judge) with its always-valid interval, marked live.
"""

from __future__ import annotations

import csv
from pathlib import Path

from lab.dashboard.judge import VERDICT_METRIC
from lab.dashboard.source import days_of, routing_experiment


def judged_row(run: Path, day: int) -> dict | None:
    experiment = routing_experiment(run / f"config.day{day}.json")
    path = run / f"ab.day{day}.{experiment}" / "effects.csv"
    if experiment is None or not path.is_file():
        return None
    try:
        with open(path, newline="") as file:
            rows = [r for r in csv.DictReader(file) if r.get("metric") == VERDICT_METRIC]
        row = rows[0]
        return {
            "day": day,
            "status": "judged",
            "experiment": experiment,
            "treatment": row["treatment"],
            "control_mean": float(row["control_mean"]),
            "treatment_mean": float(row["treatment_mean"]),
            "effect": float(row["effect"]),
            "lower": float(row["lower"]),
            "upper": float(row["upper"]),
            "significant": row["significant"] == "true",
            "interval": "fixed horizon (botify ab)",
        }
    except (OSError, KeyError, ValueError, IndexError):
        return None  # being written: read at the next refresh


def live_row(day: int, state: dict) -> dict | None:
    rows = [r for r in state.get("effects", []) if r["metric"] == VERDICT_METRIC]
    if not rows:
        return None
    row = rows[0]
    return {
        "day": day,
        "status": "live",
        "experiment": state["experiment"],
        "treatment": row["treatment"],
        "control_mean": row["control_mean"],
        "treatment_mean": row["treatment_mean"],
        "effect": row["effect"],
        "lower": row["sequential_lower"],
        "upper": row["sequential_upper"],
        "significant": row["decision"] != "undecided",
        "interval": "always valid (so far)",
    }


def trajectory(run: Path, live_day: int | None, live: dict | None) -> list[dict]:
    """One row per day begun: botify ab's when judged, else the live one (for `live_day`, when
    `live` judges that day's routing experiment)."""
    rows = []
    for day in days_of(run):
        row = judged_row(run, day)
        if row is None and day == live_day and live is not None:
            if live.get("experiment") == routing_experiment(run / f"config.day{day}.json"):
                row = live_row(day, live)
        if row is not None:
            rows.append(row)
    return rows
