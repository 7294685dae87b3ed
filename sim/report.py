"""The end-of-run summary: per day, sessions and the mean and standard error of session time
(the sum of listened fractions) and of session length."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from sim.session import SessionResult


@dataclass(frozen=True)
class Estimate:
    mean: float
    sem: float  # standard error of the mean

    @classmethod
    def of(cls, values: Sequence[float]) -> Estimate:
        n = len(values)
        if n == 0:
            return cls(math.nan, math.nan)
        mean = math.fsum(values) / n
        if n == 1:
            return cls(mean, math.nan)
        variance = math.fsum((v - mean) ** 2 for v in values) / (n - 1)
        return cls(mean, math.sqrt(variance / n))

    def interval95(self) -> tuple[float, float]:
        return self.mean - 1.96 * self.sem, self.mean + 1.96 * self.sem


@dataclass(frozen=True)
class DaySummary:
    day: int
    sessions: int
    cut_short: int
    time: Estimate
    length: Estimate


def summarize(results: Sequence[SessionResult]) -> list[DaySummary]:
    """Sessions cut short by a bad answer are counted apart, not averaged in."""
    days: dict[int, list[SessionResult]] = {}
    for result in results:
        days.setdefault(result.day, []).append(result)
    summaries = []
    for day, rows in sorted(days.items()):
        complete = [r for r in rows if r.error is None]
        summaries.append(
            DaySummary(
                day=day,
                sessions=len(complete),
                cut_short=len(rows) - len(complete),
                time=Estimate.of([r.time for r in complete]),
                length=Estimate.of([r.length for r in complete]),
            )
        )
    return summaries


def markdown_table(summaries: Sequence[DaySummary]) -> str:
    show_cut = any(s.cut_short for s in summaries)
    head = ["day", "sessions"] + (["cut short"] if show_cut else [])
    head += ["time mean", "time sem", "length mean", "length sem"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---:" for _ in head) + "|"]
    for s in summaries:
        cells = [str(s.day), str(s.sessions)] + ([str(s.cut_short)] if show_cut else [])
        cells += [_number(s.time.mean, 3), _number(s.time.sem, 3)]
        cells += [_number(s.length.mean, 2), _number(s.length.sem, 2)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _number(value: float, digits: int) -> str:
    return "-" if math.isnan(value) else f"{value:.{digits}f}"
