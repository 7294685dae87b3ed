"""trajectory.png: a title, both counts on their own labelled panel, each day's interval around
T1, and the item-to-item ceiling only on the simulator's count and only where it is known."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest
from matplotlib.container import ErrorbarContainer

from lab.days import DEFAULT_SIZE, QUICK_SIZE, Size
from lab.trajectory_chart import (
    ITEM_TO_ITEM_CEILING,
    item_to_item_ceiling,
    trajectory_chart,
    trajectory_figure,
)

# As RUN/trajectory.json holds them (the fields the chart reads), day 1 not significant.
ROWS = [
    {"day": 1, "C": 3.96, "T1": 3.90, "interval": [-4.0, 1.0], "C_sim": 2.95, "T1_sim": 2.90},
    {"day": 2, "C": 3.92, "T1": 4.39, "interval": [7.8, 16.2], "C_sim": 2.93, "T1_sim": 3.32},
    {"day": 3, "C": 3.95, "T1": 4.66, "interval": [13.9, 22.0], "C_sim": 2.94, "T1_sim": 3.64},
]


def panels(figure):
    sim, report = figure.axes
    assert "simulator's count" in sim.get_ylabel()
    assert "report's count" in report.get_ylabel()
    return sim, report


def horizontal_lines_at(ax, y: float) -> list:
    return [line for line in ax.get_lines() if list(line.get_ydata()) == [y, y]]


def test_a_title_labelled_counts_and_each_days_interval_around_t1():
    figure = trajectory_figure(ROWS, "botify experiment --days 3 (run)", None)
    try:
        assert figure.get_suptitle() == "botify experiment --days 3 (run)"
        sim, report = panels(figure)
        (errorbars,) = [c for c in report.containers if isinstance(c, ErrorbarContainer)]
        (bars,) = errorbars.lines[2]
        segments = bars.get_segments()
        assert len(segments) == len(ROWS)
        for (start, end), row in zip(segments, ROWS, strict=True):
            assert start[0] == end[0] == row["day"]
            # the interval of T1 - C, in C's units, around T1
            low, high = (row["C"] * (1 + bound / 100) for bound in row["interval"])
            assert (start[1], end[1]) == pytest.approx((low, high))
        # day 1 is not significant: its interval reaches C; the others' stay above it
        assert segments[0][0][1] < ROWS[0]["C"] < segments[0][1][1]
        assert all(s[0][1] > row["C"] for s, row in zip(segments[1:], ROWS[1:], strict=True))
        assert [list(line.get_ydata()) for line in sim.get_lines()] == [
            [r["C_sim"] for r in ROWS],
            [r["T1_sim"] for r in ROWS],
        ]
        labels = report.get_legend_handles_labels()[1]
        assert any("interval" in label for label in labels)
        assert not horizontal_lines_at(sim, ITEM_TO_ITEM_CEILING)
        assert any("not measured" in text.get_text() for text in sim.texts)
    finally:
        plt.close(figure)


def test_the_ceiling_is_drawn_on_the_simulators_count_only():
    figure = trajectory_figure(ROWS, "title", ITEM_TO_ITEM_CEILING)
    try:
        sim, report = panels(figure)
        assert len(horizontal_lines_at(sim, ITEM_TO_ITEM_CEILING)) == 1
        assert sim.get_ylim()[1] > ITEM_TO_ITEM_CEILING  # in view
        assert any("ceiling 8.18" in text.get_text() for text in sim.texts)
        assert not horizontal_lines_at(report, ITEM_TO_ITEM_CEILING)
        assert report.get_ylim()[1] < ITEM_TO_ITEM_CEILING  # another count: not drawn there
    finally:
        plt.close(figure)


def test_the_ceiling_is_known_on_the_seed_42_default_world_only():
    assert item_to_item_ceiling(42, DEFAULT_SIZE) == ITEM_TO_ITEM_CEILING
    other_sessions = Size(DEFAULT_SIZE.tracks, DEFAULT_SIZE.artists, DEFAULT_SIZE.users, 500)
    assert item_to_item_ceiling(42, other_sessions) == ITEM_TO_ITEM_CEILING
    assert item_to_item_ceiling(0, DEFAULT_SIZE) is None
    assert item_to_item_ceiling(42, QUICK_SIZE) is None


def test_the_chart_is_written(tmp_path):
    trajectory_chart(ROWS, tmp_path / "trajectory.png", "title", ITEM_TO_ITEM_CEILING)
    assert (tmp_path / "trajectory.png").read_bytes().startswith(b"\x89PNG")
