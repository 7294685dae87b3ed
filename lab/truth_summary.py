"""The figures of docs/truth.md from the runs of `botify experiment --days N --truth`, read back
from each run's trajectory.json and report.md:

    python -m lab.truth_summary RUN [RUN...]

Prints, over every day of every run given: the widest true-effect interval; how often the A/B's
interval covered the truth; the bias's mean; how often the ledger's prediction of T1's level
was within 10% of the true level; the same for the naive prediction that tomorrow's T1 is
today's measured T1 arm (the simulator's count); and each run's time against its loop alone.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

WITHIN = 0.10
COST = re.compile(r"took ([\d.]+) times the loop alone")


def read_run(folder: Path) -> tuple[list[dict], str]:
    trajectory, report = folder / "trajectory.json", folder / "report.md"
    if not trajectory.is_file() or not report.is_file():
        raise SystemExit(f"{folder}: no trajectory.json and report.md: not a finished --days run")
    rows = json.loads(trajectory.read_text())
    if not rows or "true_effect" not in rows[0]:
        raise SystemExit(f"{folder}: a --days run without --truth (no true_effect per day)")
    return rows, report.read_text()


def summary(runs: list[Path]) -> str:
    lines = []
    days = covered = 0
    biases: list[float] = []
    ope = naive = predicted = 0
    widest = 0.0
    for folder in runs:
        rows, report = read_run(folder)
        cost = COST.search(report)
        lines.append(
            f"{folder.name}: {len(rows)} days, "
            + (f"{float(cost.group(1)):.2f} times the loop alone" if cost else "time not stated")
        )
        for before, row in zip([None, *rows], rows, strict=False):
            days += 1
            covered += row["covers"]
            biases.append(row["bias"])
            widest = max(widest, row["true_effect"] - row["true_interval"][0])
            low, high = row["bias_interval"]
            lines.append(
                f"  day {row['day']}: A/B {row['effect']:+.2f}%, true {row['true_effect']:+.2f}% "
                f"(+-{row['true_effect'] - row['true_interval'][0]:.2f}), bias "
                f"{row['bias']:+.2f} [{low:+.2f}, {high:+.2f}], covers "
                f"{'yes' if row['covers'] else 'NO'}"
            )
            if "ledger" in row and before is not None:
                predicted += 1
                true_level = row["ledger"]["true_T1_sim"]
                ope += abs(row["ledger"]["prediction_error"]) <= WITHIN
                naive += abs(before["T1_sim"] / true_level - 1) <= WITHIN
    lines += [
        "",
        f"true effect's interval: at most +-{widest:.2f} points",
        f"the A/B's interval covered the truth on {covered} of {days} days",
        f"mean bias: {sum(biases) / len(biases):+.2f} points",
        f"the ledger's prediction within 10% of the true level: {ope} of {predicted} days",
        f"yesterday's measured T1 within 10% of the true level: {naive} of {predicted} days",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.truth_summary", description=__doc__)
    parser.add_argument("runs", nargs="+", type=Path, metavar="RUN", help="--truth run folders")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    print(summary(args.runs), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
