"""The report's PNG charts: each metric's effect with its intervals per arm, and the
distribution of session time per arm."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display, and no GUI toolkit import

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import polars as pl  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from offline.report.metrics import FAMILIES, GOOD_DIRECTION  # noqa: E402

GOOD, BAD, NOT_SIGNIFICANT = "good", "bad", "not significant"
# Blue and vermilion (Okabe-Ito): told apart with any colour vision; grey for no verdict.
COLOURS = {GOOD: "#1f4e9c", BAD: "#d55e00", NOT_SIGNIFICANT: "#9aa5ad"}
LEGEND = {
    GOOD: "significant, the good way",
    BAD: "significant, the wrong way",
    NOT_SIGNIFICANT: "not significant",
}
INTERVAL_COLUMNS = ("lower", "upper", "delta_lower", "delta_upper", "effect")

# The effect chart's layout, in inches.
WIDTH, LEFT, RIGHT = 7.0, 0.7, 0.2
HEADER = 0.95  # the title and the legend
PANEL_TITLE = 0.3
FAMILY_FOOTER = 0.75  # tick labels and the family's x label, then a gap to the next
BOTTOM = 0.55


def direction(metric: str, effect: float, significant: bool) -> str:
    """GOOD or BAD when the change is significant in the metric's good direction or against it
    (metrics.GOOD_DIRECTION: latency is better lower), else NOT_SIGNIFICANT."""
    if not significant or not math.isfinite(effect) or effect == 0:
        return NOT_SIGNIFICANT
    return GOOD if effect * GOOD_DIRECTION[metric] > 0 else BAD


def family_limits(effects: pl.DataFrame, metrics: tuple[str, ...]) -> tuple[float, float]:
    """One x range for a family's panels: every interval and effect drawn in them, and 0."""
    rows = effects.filter(pl.col("metric").is_in(metrics))
    values = np.array(
        [0.0, *(v for c in INTERVAL_COLUMNS for v in rows[c].to_list() if v is not None)],
        dtype=float,
    )
    values = values[np.isfinite(values)]
    low, high = float(values.min()), float(values.max())
    pad = 0.05 * (high - low) if high > low else 1.0
    return low - pad, high + pad


def effect_figure(effects: pl.DataFrame, title: str) -> Figure:
    """Each metric's effect per treatment arm: one panel per metric, the panels of a family
    (metrics.FAMILIES) on one x scale, the interval coloured by `direction`."""
    arms = effects["treatment"].unique(maintain_order=True).to_list()
    panel = 0.25 + 0.3 * max(len(arms), 1)
    panels = sum(len(metrics) for metrics in FAMILIES.values())
    gaps = (len(FAMILIES) - 1) * FAMILY_FOOTER
    height = HEADER + panels * (PANEL_TITLE + panel) + gaps + BOTTOM
    fig = plt.figure(figsize=(WIDTH, height))
    # Axes placed by hand: tight_layout would draw the figure twice.
    top = height - HEADER
    left, width = LEFT / WIDTH, 1 - (LEFT + RIGHT) / WIDTH
    for family, metrics in FAMILIES.items():
        limits = family_limits(effects, metrics)
        first = None
        for metric in metrics:
            top -= PANEL_TITLE
            rect = (left, (top - panel) / height, width, panel / height)
            ax = fig.add_axes(rect, sharex=first)
            first = first or ax
            top -= panel
            draw_effects(ax, effects.filter(pl.col("metric") == metric), metric)
            ax.set_yticks(range(len(arms)), arms)
            ax.set_ylim(len(arms) - 0.4, -0.6)  # the first arm on top
            better = "higher" if GOOD_DIRECTION[metric] > 0 else "lower"
            ax.set_title(f"{metric} ({better} is better)", fontsize=9, loc="left")
            ax.tick_params(labelsize=8, labelbottom=metric == metrics[-1])
            ax.set_xlim(*limits)
            ax.grid(axis="x", alpha=0.3)
        shared = f", one scale for the {len(metrics)} panels" if len(metrics) > 1 else ""
        ax.set_xlabel(f"{family}: effect, % of control mean{shared}", fontsize=8)
        top -= FAMILY_FOOTER
    fig.suptitle(title, fontsize=10, y=1 - 0.12 / height, va="top")
    verdicts, marks = legend_handles()
    fig.legend(
        # the legend fills its columns first: verdicts on the first row, marks on the second
        handles=[handle for pair in zip(verdicts, marks, strict=True) for handle in pair],
        loc="upper center",
        bbox_to_anchor=(0.5, 1 - 0.42 / height),
        ncol=3,
        fontsize=7.5,
        frameon=False,
    )
    return fig


def draw_effects(ax: Axes, rows: pl.DataFrame, metric: str) -> None:
    for y, row in enumerate(rows.iter_rows(named=True)):
        effect = row["effect"] if row["effect"] is not None else math.nan
        colour = COLOURS[direction(metric, effect, bool(row["significant"]))]
        ax.plot([row["lower"], row["upper"]], [y, y], color=colour, linewidth=4, alpha=0.8)
        ax.plot(
            [row["delta_lower"], row["delta_upper"]],
            [y + 0.2, y + 0.2],  # under the bar
            color=colour,
            linewidth=1.2,
            linestyle="--",
        )
        ax.plot([effect], [y], "o", color="black", markersize=4)
    ax.axvline(0, color="black", linewidth=0.8)


def legend_handles() -> tuple[list[Line2D], list[Line2D]]:
    """The three verdicts' colours, and what each mark is."""
    verdicts = [Line2D([], [], color=COLOURS[v], linewidth=4, label=LEGEND[v]) for v in LEGEND]
    marks = [
        Line2D([], [], color="dimgrey", linewidth=4, label="course interval (Welch)"),
        Line2D([], [], color="dimgrey", linewidth=1.2, linestyle="--", label="delta method"),
        Line2D([], [], color="black", marker="o", markersize=4, linestyle="", label="effect"),
    ]
    return verdicts, marks


def effect_chart(effects: pl.DataFrame, path: Path, title: str) -> None:
    fig = effect_figure(effects, title)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def session_time_chart(sessions: pl.DataFrame, arms: list[str], path: Path, title: str) -> None:
    """Histogram (as density) of the time of each complete session, one line per arm."""
    fig, ax = plt.subplots(figsize=(7, 4))
    times = sessions["time"].to_numpy()
    top = float(np.quantile(times, 0.995)) if len(times) else 1.0
    bins = np.linspace(0, max(top, 1e-9), 60).tolist()
    for arm in arms:
        values = sessions.filter(pl.col("arm") == arm)["time"].to_numpy()
        if not len(values):
            continue
        ax.hist(
            values,
            bins=bins,
            density=True,
            histtype="step",
            linewidth=1.4,
            label=f"{arm}: mean {values.mean():.2f}, n={len(values):,}",
        )
    ax.set_xlabel("session time (sum of listened fractions); top 0.5% not shown")
    ax.set_ylabel("density")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    fig.subplots_adjust(left=0.1, right=0.97, top=0.92, bottom=0.12)
    fig.savefig(path, dpi=100)
    plt.close(fig)
