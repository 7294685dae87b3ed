"""RUN/truth.png of `botify experiment --days N --truth`: by day, the A/B's estimate of T1's
effect with its 95% interval beside the true effect with its own (lab.counterfactual), and the
effect predicted the evening before (lab.ledger), all in % of C on the report's count."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display, and no GUI toolkit import

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

ESTIMATE, TRUTH, PREDICTED = "#1f4e9c", "#d55e00", "#4d4d4d"
OFFSET = 0.12  # the estimate left of its day, the truth right of it


def bars(values: list[float], bounds: list) -> list[list[float]]:
    return [
        [max(v - low, 0.0) for v, (low, _) in zip(values, bounds, strict=True)],
        [max(high - v, 0.0) for v, (_, high) in zip(values, bounds, strict=True)],
    ]


def truth_figure(rows: list[dict], title: str) -> Figure:
    """`rows` as in RUN/trajectory.json of a --truth run."""
    figure, axes = plt.subplots(figsize=(9, 4.6))
    days = [r["day"] for r in rows]
    estimate, truth = [r["effect"] for r in rows], [r["true_effect"] for r in rows]
    axes.errorbar(
        [d - OFFSET for d in days],
        estimate,
        yerr=bars(estimate, [r["interval"] for r in rows]),
        fmt="o",
        color=ESTIMATE,
        capsize=4,
        label="A/B estimate (botify ab) and its 95% interval",
    )
    axes.errorbar(
        [d + OFFSET for d in days],
        truth,
        yerr=bars(truth, [r["true_interval"] for r in rows]),
        fmt="s",
        color=TRUTH,
        capsize=4,
        label="true effect: everyone on T1 against everyone on C (paired)",
    )
    predicted = [(r["day"], r["ledger"]["predicted_effect"]) for r in rows if "ledger" in r]
    if predicted:
        axes.plot(
            [d for d, _ in predicted],
            [p for _, p in predicted],
            "x",
            color=PREDICTED,
            markersize=8,
            label="predicted the evening before (botify ope, DR)",
        )
    axes.axhline(0, color="grey", linewidth=0.8)
    axes.set_xticks(days)
    axes.set_xlabel("day")
    axes.set_ylabel("T1's effect on mean time per session, % of C (report's count)")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8, loc="best")
    axes.set_title(title, fontsize=10)
    figure.tight_layout()
    return figure


def truth_chart(rows: list[dict], path: Path, title: str) -> None:
    figure = truth_figure(rows, title)
    figure.savefig(path, dpi=100)
    plt.close(figure)
