"""`summary.md` of a `botify experiment` run: the day-1 A/A verdict and the day-2 A/B table, read
from the effects.csv files that `botify ab` wrote."""

from __future__ import annotations

import csv
from pathlib import Path

from lab.days import Size

# What mean_time_per_session is, said where it is shown: the simulator counts session time
# otherwise (sim.run's tables, sessions.day*.jsonl), and the two differ by about one track.
REPORT_COUNT = (
    "mean_time_per_session is the report's count of mean session time (`botify ab`'s, the "
    "course's): per user, the listened fractions of every logged track of their sessions, each "
    "session's first track included (the simulator sends it as 1.0), over their sessions, "
    "averaged over users. The simulator's count (per session, the listened fractions after its "
    "first track) is in `sessions.day*.jsonl`."
)


def read_effects(path: Path) -> list[dict]:
    with open(path) as file:
        return list(csv.DictReader(file))


def verdict(rows: list[dict], metric: str = "mean_time_per_session") -> str:
    for row in rows:
        if row["metric"] == metric:
            significant = row["significant"] == "true"
            return (
                f"{row['treatment']} vs C: {float(row['effect']):+.2f}% "
                f"[{float(row['lower']):+.2f}, {float(row['upper']):+.2f}], "
                f"{'significant' if significant else 'not significant'}"
            )
    return "no rows"


def summary(run: Path, routing: str, size: Size, seed: int, seconds: float) -> str:
    aa = read_effects(run / "aa_day1" / "effects.csv")
    ab = read_effects(run / "ab" / "effects.csv")
    aa_significant = [r["metric"] for r in aa if r["significant_holm"] == "true"]
    lines = [
        f"# botify experiment {run.name}",
        "",
        f"Seed {seed}, {size.sessions} sessions a day, {seconds:.0f} s in all.",
        "",
        "## Day 1: cold start",
        "",
        "Everyone served by the control chain; A/A experiment `AA` logged alongside.",
        f"A/A verdict on mean_time_per_session: {verdict(aa)}.",
        "A/A after Holm: "
        + (
            f"significant on {', '.join(aa_significant)}: investigate"
            if aa_significant
            else "nothing significant, as it should be"
        )
        + ".",
        "",
        "## Training",
        "",
        "Learned from day 1's logs: `model/` (each file with its `.meta.json`).",
        "",
        f"## Day 2: A/B experiment `{routing}`",
        "",
        f"Verdict on mean_time_per_session: {verdict(ab)}.",
        "",
        REPORT_COUNT,
        "",
        "| arm | metric | control | treatment | effect % | interval % | significant (Holm) |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in ab:
        lines.append(
            f"| {row['treatment']} | {row['metric']} | {float(row['control_mean']):.4g} | "
            f"{float(row['treatment_mean']):.4g} | {float(row['effect']):+.2f} | "
            f"[{float(row['lower']):+.2f}, {float(row['upper']):+.2f}] | "
            f"{row['significant_holm']} |"
        )
    lines += [
        "",
        "Files: `config.day1.json`, `config.day2.json`, `logs/`, `model/`,",
        "`aa_day1/report.md`, `ab/report.md` (with effects.csv and charts).",
        "",
    ]
    return "\n".join(lines)
