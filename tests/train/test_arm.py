"""`botify train --experiment NAME --arm ARM`: an arm's models learn only from its own logged
traffic (the data-diverted design of `botify experiment --days N --training isolated`)."""

from __future__ import annotations

import json

import pytest

from offline.learn.train import main
from tests.train.helpers import log_events, write_catalog, write_events

ARTISTS = [t // 4 for t in range(40)]  # artist k has tracks 4k..4k+3
GENRES = [a % 2 for a in ARTISTS]
# What the loop trains with (lab.loop_options.TRAIN_OPTIONS): every model the loop serves.
OPTIONS = ["--i2i", "affinity", "--i2i-n", "20", "--users", "enjoyed", "--holdout", "0"]
MODEL_FILES = ("top_tracks.json", "i2i.json", "users.json")


def arm_sessions(arm: str, users: range) -> list[dict]:
    """Each arm's users listen their own way: T1's go 0 -> 1 -> 2, C's 8 -> 20 -> 33 (other
    artists, other genres), so that C's traffic would move every model."""
    path = [(0, 1.0), (1, 0.95), (2, 0.9)] if arm == "T1" else [(8, 1.0), (20, 0.9), (33, 0.9)]
    sessions = [(user, [*path, (12 + user % 20, 0.6)]) for user in users for _ in range(2)]
    events = log_events(sessions)
    for event in events:
        event["experiments"] = {"EXP": arm, "AA": "C"}
    return events


@pytest.fixture
def logs(tmp_path):
    t1, c = arm_sessions("T1", range(0, 20)), arm_sessions("C", range(100, 130))
    mixed = sorted(t1 + c, key=lambda e: (e["timestamp"], e["user"]))
    return write_events(tmp_path / "mixed" / "events.jsonl", mixed), write_events(
        tmp_path / "t1" / "events.jsonl", t1
    )


def train(tmp_path, log, out: str, *more: str) -> dict[str, str]:
    catalog = write_catalog(tmp_path / "tracks.json", ARTISTS, GENRES)
    args = [str(log), "--catalog", str(catalog), "--out", str(tmp_path / out), *OPTIONS, *more]
    assert main(args) == 0
    return {name: (tmp_path / out / name).read_text() for name in MODEL_FILES}


def test_an_arms_models_equal_those_trained_on_its_events_alone(tmp_path, logs, capsys):
    mixed, t1_only = logs
    isolated = train(tmp_path, mixed, "isolated", "--experiment", "EXP", "--arm", "T1")
    assert f"skipped {30 * 2 * 4:,} events not of arm EXP=T1" in capsys.readouterr().out
    alone = train(tmp_path, t1_only, "alone")
    pooled = train(tmp_path, mixed, "pooled")
    assert isolated == alone
    # C's events do change every model: the filter is what keeps them out
    assert all(pooled[name] != alone[name] for name in MODEL_FILES)
    meta = json.loads((tmp_path / "isolated" / "i2i.meta.json").read_text())
    assert meta["log"]["arm"] == "EXP=T1" and meta["log"]["other_arm_events"] == 240
    assert meta["log"]["listens"] == 20 * 2 * 4


@pytest.mark.parametrize(
    ("more", "message"),
    [
        (
            ["--experiment", "NOPE", "--arm", "T1"],
            "experiment 'NOPE' is not in the logs; experiments found: AA, EXP",
        ),  # fmt: skip
        (
            ["--experiment", "EXP", "--arm", "T2"],
            "arm 'T2' of EXP is not in the logs; arms found: C, T1",
        ),  # fmt: skip
        (["--arm", "T1"], "--experiment and --arm go together"),
    ],
)
def test_an_arm_that_is_not_in_the_logs_is_refused(tmp_path, logs, capsys, more, message):
    catalog = write_catalog(tmp_path / "tracks.json", ARTISTS, GENRES)
    args = [str(logs[0]), "--catalog", str(catalog), "--out", str(tmp_path / "out"), *more]
    assert main(args) == 2
    assert message in capsys.readouterr().err and not (tmp_path / "out").exists()
