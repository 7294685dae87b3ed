"""`botify experiment --days N --truth` on the quick world: the counterfactual worlds share their
users and random streams (one chain in both worlds is a true effect of exactly 0), and the
ledger's predicted, measured and true columns are there and finite; with --training isolated the
loop's T1 files learn from T1's events only."""

from __future__ import annotations

import json
import math

import pytest

from lab.counterfactual import World, arm_chain, true_effect
from lab.days import QUICK_SIZE, sim_config
from lab.experiment import main
from lab.loop_chains import STICKY
from lab.processes import ROOT
from lab.truth_summary import summary


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The quick world of seed 42, as `botify experiment --quick` makes it."""
    folder = tmp_path_factory.mktemp("world")
    size = QUICK_SIZE
    args = ["world", "--out", str(folder), "--seed", "42", f"--tracks={size.tracks}"]
    args += [f"--artists={size.artists}", f"--users={size.users}"]
    from lab.cli import main as botify

    assert botify(args) == 0
    return folder


def two_days(worlds: list[World], world, run) -> list:
    simulator = sim_config(run, world)
    effects = []
    for day in (1, 2):
        results = [w.run_day(simulator, world, 300, day, 42, 0.3) for w in worlds]
        effects.append(true_effect(*worlds, day, *results))
    return effects


def test_one_chain_in_both_worlds_is_a_true_effect_of_exactly_0(world, tmp_path):
    # StickyArtist picks at random and explores 30% of the time: the worlds' random streams,
    # not only their users, must be the same for the two to agree exactly, day after day
    # (day 2 starts from the histories that day 1 left).
    exploring = lambda explore, learned: [  # noqa: E731
        {**STICKY, "explore": {"probability": explore, "from": "genre"}}
    ]
    worlds = [World(arm, tmp_path / arm, exploring, learns=False) for arm in ("C", "T1")]
    for effect in two_days(worlds, world, tmp_path):
        assert (effect.effect, effect.lower, effect.upper) == (0.0, 0.0, 0.0)
        assert effect.C == effect.T1 and effect.C_sim == effect.T1_sim and effect.users > 200
    # two chains: the same users, an effect (StickyArtist against itself exploring always)
    worlds = [World(arm, tmp_path / f"{arm}2", arm_chain(arm), learns=False) for arm in ("C", "T1")]
    for effect in two_days([worlds[0], worlds[1]], world, tmp_path):
        assert effect.effect < effect.upper < 0 and effect.upper - effect.lower < 20


def finite(value) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def test_the_truth_loop_reports_bias_and_the_ledger_with_isolated_training(world, tmp_path):
    args = ["--quick", "--days", "3", "--sessions", "200", "--truth", "--training", "isolated"]
    assert main([*args, "--world", str(world), "--out", str(tmp_path / "runs")]) == 0
    (run,) = (tmp_path / "runs").iterdir()
    rows = json.loads((run / "trajectory.json").read_text())
    for row in rows:
        low, high = row["interval"]
        assert row["covers"] == (low <= row["true_effect"] <= high)
        assert row["bias"] == pytest.approx(row["effect"] - row["true_effect"])
        assert finite(row["aa_arm_effect"]) and row["true_users"] > 100
    assert "ledger" not in rows[0]  # nothing predicts day 1
    for row in rows[1:]:
        ledger = row["ledger"]
        for column in ("predicted_effect", "measured_effect", "true_effect"):
            assert finite(ledger[column]), (row["day"], column, ledger[column])
        assert ledger["measured_effect"] == row["effect"]
        assert ledger["true_effect"] == row["true_effect"]
        assert (run / f"plan.day{row['day']}.md").read_text().startswith("# A/B plan")
    report = (run / "report.md").read_text()
    assert "## The verdict against the truth" in report and "Training: isolated" in report
    assert "## The ledger: predicted, measured, true" in report
    assert (run / "truth.png").stat().st_size > 0
    # docs/truth.md's figures are read back by lab.truth_summary
    out = summary([run])
    covered = sum(row["covers"] for row in rows)
    assert f"the A/B's interval covered the truth on {covered} of 3 days" in out
    assert "times the loop alone" in out and "within 10% of the true level: " in out
    # isolated: the A/B's T1 files read none of C's events; the T1 world's read its whole log
    for day in (1, 2):
        ab = json.loads((run / f"model{day}" / "i2i.meta.json").read_text())["log"]
        assert ab["arm"] == "LOOP=T1" and ab["other_arm_events"] > 0
        alone = json.loads((run / "world-T1" / f"model{day}" / "i2i.meta.json").read_text())
        assert alone["log"]["arm"] is None and alone["log"]["other_arm_events"] == 0


def test_truth_and_training_are_options_of_the_loop_only(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--truth"])
    assert done.value.code == 2 and "--truth is an option of the learning loop" in (
        capsys.readouterr().err
    )
    with pytest.raises(SystemExit) as done:
        main(["--days", "2", "--training", "both"])
    assert done.value.code == 2 and "invalid choice: 'both'" in capsys.readouterr().err
    assert ROOT.is_dir()
