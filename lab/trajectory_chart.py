"""RUN/trajectory.png of `botify experiment --days N`: each day's mean session time per arm in
both of its counts, side by side and labelled, since they are different figures
(offline/learn/TRAINING.md):

- the simulator's count: per session, the sum of the listened fractions after the session's
  first track (docs/training.md's learning headline, the `(sim)` columns of RUN/report.md), with the
  item-to-item ceiling where it is known: it is measured in this count;
- the report's count: `botify ab`'s mean_time_per_session (each session's first track counts
  1.0, averaged per user; the C and T1 columns), with the day's interval of T1 - C around T1.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display, and no GUI toolkit import

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from lab.days import DEFAULT_SIZE, Size  # noqa: E402

# The ceiling of item-to-item learning in the simulator's count: the simulator's `neighbours`
# agent (sim/README.md) on the world `botify experiment --days` makes by default (`--seed 42`,
# the default size), 8.184 (s.e. 0.045) over day 2's 20,000 sessions: `python -m sim.run
# --episodes 20000 --days 2 --seed 42 single --recommender neighbours`. Unknown on other worlds.
ITEM_TO_ITEM_CEILING = 8.18
CEILING_WORLD = (42, DEFAULT_SIZE.tracks, DEFAULT_SIZE.artists, DEFAULT_SIZE.users)

ARMS = (
    ("C", "C: StickyArtist", "#4d4d4d"),
    ("T1", "T1: StickyArtist exploring on day 1, then learned", "#1f4e9c"),
)
SIM_COUNT = "simulator's count"
REPORT_COUNT = "report's count"


def item_to_item_ceiling(seed: int, size: Size) -> float | None:
    """The ceiling in the simulator's count on the world of this seed and size, if measured."""
    if (seed, size.tracks, size.artists, size.users) == CEILING_WORLD:
        return ITEM_TO_ITEM_CEILING
    return None


def trajectory_figure(rows: list[dict], title: str, ceiling: float | None) -> Figure:
    """`rows` as in RUN/trajectory.json: day, C, T1, interval (the effect's, % of C), C_sim,
    T1_sim. `ceiling`: the item-to-item ceiling in the simulator's count, or None."""
    figure, (sim, report) = plt.subplots(1, 2, figsize=(11, 4.6), sharex=True)
    days = [r["day"] for r in rows]
    for arm, label, colour in ARMS:
        sim.plot(days, [r[f"{arm}_sim"] for r in rows], marker="o", color=colour, label=label)
        report.plot(days, [r[arm] for r in rows], marker="o", color=colour, label=label)
    if ceiling is not None:
        sim.axhline(ceiling, color="#d55e00", linestyle="--", linewidth=1.2)
        sim.annotate(
            f"item-to-item ceiling {ceiling:.2f} (the simulator's neighbours agent)",
            (0.02, ceiling),
            xycoords=("axes fraction", "data"),
            xytext=(0, -4),
            textcoords="offset points",
            va="top",
            fontsize=8,
            color="#d55e00",
        )
    else:
        sim.annotate(
            "item-to-item ceiling: not measured on this world",
            (0.02, 0.97),
            xycoords="axes fraction",
            va="top",
            fontsize=8,
            color="dimgrey",
        )
    # T1's interval: the day's interval of the effect (T1 - C, in % of C) placed around T1, so
    # that it reaches C's point exactly when the day is not significant.
    low = [r["C"] * (1 + r["interval"][0] / 100) for r in rows]
    high = [r["C"] * (1 + r["interval"][1] / 100) for r in rows]
    t1 = [r["T1"] for r in rows]
    report.errorbar(
        days,
        t1,
        yerr=[
            # at least 0: the file's rounding may cross T1 where an interval has no width
            [max(t - lo, 0.0) for t, lo in zip(t1, low, strict=True)],
            [max(h - t, 0.0) for t, h in zip(t1, high, strict=True)],
        ],
        fmt="none",
        ecolor=ARMS[1][2],
        elinewidth=1.2,
        capsize=4,
        label="T1: the day's 95% interval of T1 - C (botify ab)",
    )
    sim.set_title(
        "Simulator's count: listens after each session's first track", fontsize=9, loc="left"
    )
    report.set_title(
        "Report's count (botify ab): first track counts 1.0, mean per user",
        fontsize=9,
        loc="left",
    )
    sim.set_ylabel(f"mean session time ({SIM_COUNT})")
    report.set_ylabel(f"mean time per session ({REPORT_COUNT})")
    for axes in (sim, report):
        axes.set_xlabel("day")
        axes.set_xticks(days)
        axes.set_ylim(bottom=0)
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8, loc="lower right")
    figure.suptitle(title, fontsize=10)
    figure.subplots_adjust(left=0.07, right=0.98, top=0.85, bottom=0.12, wspace=0.22)
    return figure


def trajectory_chart(rows: list[dict], path: Path, title: str, ceiling: float | None) -> None:
    figure = trajectory_figure(rows, title, ceiling)
    figure.savefig(path, dpi=100)
    plt.close(figure)
