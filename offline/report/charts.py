"""The report's PNG charts: each metric's effect with its intervals per arm, and the
distribution of session time per arm."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display, and no GUI toolkit import

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

from offline.report.metrics import METRICS  # noqa: E402

SIGNIFICANT, NOT_SIGNIFICANT = "#1f4e9c", "#9aa5ad"


def effect_chart(effects: pl.DataFrame, path: Path, title: str) -> None:
    arms = effects["treatment"].unique(maintain_order=True).to_list()
    height = 1.0 + len(METRICS) * (0.55 + 0.3 * len(arms))
    fig, axes = plt.subplots(len(METRICS), 1, figsize=(7, height))
    # Fixed margins: tight_layout would draw the figure twice.
    fig.subplots_adjust(
        left=0.1, right=0.97, top=1 - 0.6 / height, bottom=0.75 / height, hspace=0.9
    )
    for ax, metric in zip(axes, METRICS, strict=True):
        rows = effects.filter(pl.col("metric") == metric)
        for y, row in enumerate(rows.iter_rows(named=True)):
            # Whether a change is good depends on the metric (latency): colour says only
            # whether the course's interval excludes 0.
            color = SIGNIFICANT if row["significant"] else NOT_SIGNIFICANT
            ax.plot([row["lower"], row["upper"]], [y, y], color=color, linewidth=4, alpha=0.8)
            ax.plot(
                [row["delta_lower"], row["delta_upper"]],
                [y - 0.2, y - 0.2],
                color=color,
                linewidth=1.2,
                linestyle="--",
            )
            ax.plot([row["effect"]], [y], "o", color="black", markersize=4)
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_yticks(range(len(arms)), arms)
        ax.set_ylim(-0.6, len(arms) - 0.4)
        ax.set_title(metric, fontsize=9, loc="left")
        ax.tick_params(labelsize=8)
    axes[-1].set_xlabel(
        "effect, % of control mean (bar: course interval; dashed: delta method)", fontsize=8
    )
    fig.suptitle(title, fontsize=10)
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
