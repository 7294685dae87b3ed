"""effects.png: each verdict's colour by the metric's good direction, a legend naming them, one x
scale per family of metrics; drawn from an effects table and from a real `botify ab` run."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import polars as pl
import pytest

from lab.synthetic import events_frame, make_users, simulate
from offline.report.charts import (
    BAD,
    COLOURS,
    GOOD,
    LEGEND,
    NOT_SIGNIFICANT,
    direction,
    effect_chart,
    effect_figure,
)
from offline.report.effects import effects_table
from offline.report.metrics import FAMILIES, GOOD_DIRECTION, METRICS, unit_metrics

LISTENING = FAMILIES["listening"]


def test_every_metric_has_a_good_direction_and_one_family():
    assert set(GOOD_DIRECTION) == set(METRICS)
    assert GOOD_DIRECTION["mean_request_latency"] == -1  # faster is better
    assert all(GOOD_DIRECTION[m] == 1 for m in METRICS if m != "mean_request_latency")
    members = [m for metrics in FAMILIES.values() for m in metrics]
    assert sorted(members) == sorted(METRICS)  # each metric in exactly one family


@pytest.mark.parametrize(
    ("metric", "effect", "significant", "verdict"),
    [
        ("mean_request_latency", 25.6, True, BAD),  # slower: significant the wrong way
        ("mean_request_latency", -8.0, True, GOOD),
        ("mean_request_latency", 25.6, False, NOT_SIGNIFICANT),
        ("mean_time_per_session", 7.2, True, GOOD),
        ("mean_time_per_session", -7.2, True, BAD),
        ("sessions", -1.0, False, NOT_SIGNIFICANT),
        ("time", math.nan, False, NOT_SIGNIFICANT),
    ],
)
def test_the_verdict_follows_the_metrics_good_direction(metric, effect, significant, verdict):
    assert direction(metric, effect, significant) == verdict


def effect_rows(arm: str, effects: dict[str, tuple[float, float, float, bool]]) -> list[dict]:
    """metric -> (effect, lower, upper, significant), with a delta interval a bit wider."""
    return [
        {
            "treatment": arm,
            "metric": metric,
            "effect": effect,
            "lower": lower,
            "upper": upper,
            "significant": significant,
            "delta_lower": lower - 0.1,
            "delta_upper": upper + 0.1,
        }
        for metric, (effect, lower, upper, significant) in effects.items()
    ]


EFFECTS = pl.DataFrame(
    effect_rows(
        "T1",
        {
            "time": (7.2, 4.8, 9.7, True),
            "sessions": (0.05, -2.2, 2.3, False),
            "mean_request_latency": (25.6, 22.0, 29.2, True),
            "mean_tracks_per_session": (-3.2, -4.0, -2.4, True),
            "mean_time_per_session": (7.2, 6.6, 7.9, True),
        },
    )
    + effect_rows(
        "T2",
        {
            "time": (0.5, -1.5, 2.5, False),
            "sessions": (-0.3, -2.6, 2.0, False),
            "mean_request_latency": (-4.0, -6.0, -2.0, True),
            "mean_tracks_per_session": (1.0, -0.5, 2.5, False),
            "mean_time_per_session": (12.0, 10.0, 14.0, True),
        },
    )
)


def panels(figure) -> dict[str, plt.Axes]:
    """The figure's panels by metric (each titled `metric (higher|lower is better)`)."""
    return {ax.get_title(loc="left").split(" (")[0]: ax for ax in figure.axes}


def interval_colours(ax) -> list[str]:
    """The colour of each arm's interval bar in a panel, in arm order."""
    bars = [line for line in ax.get_lines() if line.get_linewidth() == 4]
    return [line.get_color() for line in bars]


def test_panels_of_a_family_share_one_scale_and_latency_has_its_own():
    figure = effect_figure(EFFECTS, "title")
    try:
        by_metric = panels(figure)
        assert set(by_metric) == set(METRICS)
        listening = {by_metric[m].get_xlim() for m in LISTENING}
        assert len(listening) == 1  # one x range for the four listening panels
        (low, high) = listening.pop()
        assert low < -4.0 - 0.1 and high > 14.0 + 0.1  # every listening interval inside
        latency_low, latency_high = by_metric["mean_request_latency"].get_xlim()
        assert latency_low < -6.1 and latency_high > 29.3
        assert (latency_low, latency_high) != (low, high)
        # the latency's +25.6% is not on the listening scale, nor squeezes it
        assert high < 22.0
        assert by_metric["mean_request_latency"].get_title(loc="left").endswith("(lower is better)")
        assert figure.get_suptitle() == "title"
    finally:
        plt.close(figure)


def test_colours_by_direction_and_a_legend_that_names_them():
    figure = effect_figure(EFFECTS, "title")
    try:
        by_metric = panels(figure)
        assert interval_colours(by_metric["mean_request_latency"]) == [
            COLOURS[BAD],  # T1's latency +25.6%
            COLOURS[GOOD],  # T2's -4%
        ]
        assert interval_colours(by_metric["mean_tracks_per_session"]) == [
            COLOURS[BAD],  # fewer tracks per session, significantly
            COLOURS[NOT_SIGNIFICANT],
        ]
        assert interval_colours(by_metric["time"]) == [COLOURS[GOOD], COLOURS[NOT_SIGNIFICANT]]
        assert len({COLOURS[GOOD], COLOURS[BAD], COLOURS[NOT_SIGNIFICANT]}) == 3
        (legend,) = figure.legends
        entries = {
            text.get_text(): handle
            for text, handle in zip(legend.get_texts(), legend.legend_handles, strict=True)
        }
        for verdict, label in LEGEND.items():
            assert entries[label].get_color() == COLOURS[verdict]
        assert {"course interval (Welch)", "delta method", "effect"} <= set(entries)
    finally:
        plt.close(figure)


def test_a_real_report_draws_every_metric(tmp_path):
    users = make_users(6_000, seed=5)
    effects_by_arm = {"T1": 0.3, "T2": -0.3}  # listened fractions up and down by 30%
    events = events_frame(simulate(users, {"AB": 3}, seed=5, effects=effects_by_arm))
    effects = effects_table(unit_metrics(events).units, ["C", "T1", "T2"], "C", 0.05)
    figure = effect_figure(effects, "real")
    try:
        by_metric = panels(figure)
        assert set(by_metric) == set(METRICS)
        assert interval_colours(by_metric["time"]) == [COLOURS[GOOD], COLOURS[BAD]]
        for metric, ax in by_metric.items():
            rows = effects.filter(pl.col("metric") == metric)
            expected = [
                COLOURS[direction(metric, r["effect"], r["significant"])]
                for r in rows.iter_rows(named=True)
            ]
            assert interval_colours(ax) == expected
            for r in rows.iter_rows(named=True):
                low, high = ax.get_xlim()
                assert low < r["lower"] and r["upper"] < high
    finally:
        plt.close(figure)
    effect_chart(effects, tmp_path / "effects.png", "real")
    assert (tmp_path / "effects.png").read_bytes().startswith(b"\x89PNG")
