"""The offline evaluation: the time split, the cases, and hit rate and NDCG on hand-computed
cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from offline.learn.evaluation import cases, for_global, for_users, score, split
from offline.learn.listens import read_listens
from offline.learn.ranking import PAD
from offline.learn.tracks import load_tracks
from tests.train.helpers import log_events, write_catalog, write_events


def test_hit_rate_and_ndcg_by_hand():
    ranked = np.array([[5, 3, 9], [1, 2, 3], [7, PAD, PAD], [PAD, PAD, PAD]])
    target = np.array([3, 4, 7, 1])
    result = score("m", ranked, target, k=2)
    # case 1: hit at rank 2 -> 1 / log2(3); case 3: hit at rank 1 -> 1; cases 2, 4: misses.
    assert result.cases == 4
    assert result.hit_rate == pytest.approx(0.5)
    assert result.ndcg == pytest.approx((1 / math.log2(3) + 1) / 4)
    assert result.coverage == pytest.approx(0.75)  # case 4 had no list
    # At k = 1 case 1's hit (rank 2) no longer counts.
    assert score("m", ranked, target, k=1).hit_rate == pytest.approx(0.25)
    assert score("m", ranked, target, k=1).ndcg == pytest.approx(0.25)


def test_global_and_per_user_lists_per_case():
    assert for_global(np.array([4, 5]), 2, 3).tolist() == [[4, 5, PAD], [4, 5, PAD]]
    users = np.array([10, 20])
    lists = np.array([[1, 2], [3, 4]])
    assert for_users(users, lists, np.array([20, 30, 10])).tolist() == [
        [3, 4],
        [PAD, PAD],
        [1, 2],
    ]


@pytest.fixture
def ten_sessions(tmp_path):
    tracks = load_tracks(write_catalog(tmp_path / "tracks.json", list(range(20))))
    sessions = [(s % 3, [(s, 1.0), (s + 1, 0.8), (s + 2, 0.2), (s + 3, 0.6)]) for s in range(10)]
    write_events(tmp_path / "log" / "events.jsonl", log_events(sessions))
    listens, _ = read_listens([str(tmp_path / "log")], tracks)
    return tracks, listens


def test_the_last_sessions_by_start_are_held_out_whole(ten_sessions):
    tracks, listens = ten_sessions
    train, test = split(listens, 0.2)
    assert train.n_sessions == 8 and test.n_sessions == 2
    assert len(train) == 32 and len(test) == 8
    # Sessions 8 and 9 started last: their first tracks are 8 and 9.
    assert sorted(tracks.ids[test.track[test.position == 0]].tolist()) == [8, 9]
    assert train.session_starts().max() < test.session_starts().min()


def test_cases_are_listens_heard_enough_after_another(ten_sessions):
    tracks, listens = ten_sessions
    _, test = split(listens, 0.2)
    held = cases(test, relevant=0.5)
    # Per session s: s -> s + 1 (0.8) and s + 2 -> s + 3 (0.6) count; s + 1 -> s + 2 (0.2) not.
    pairs = sorted(
        zip(tracks.ids[held.anchor].tolist(), tracks.ids[held.target].tolist(), strict=True)
    )
    assert pairs == [(8, 9), (9, 10), (10, 11), (11, 12)]
    assert sorted(held.user.tolist()) == [0, 0, 2, 2]


def test_evaluation_end_to_end_by_hand(tmp_path, capsys):
    """TopPop and the learned i2i on a log whose held-out cases are known."""
    from offline.learn.train import main

    write_catalog(tmp_path / "tracks.json", list(range(10)))
    # Train (8 sessions): 0 -> 1 -> 2 heard; 3 is played most but skipped.
    sessions = [(u, [(0, 1.0), (1, 0.9), (2, 0.9), (3, 0.0), (3, 0.0)]) for u in range(8)]
    # Held out (2 sessions): 0 -> 1 (heard) and 1 -> 4 (heard), 4 -> 2 (not heard).
    sessions += [(u, [(0, 1.0), (1, 0.9), (4, 0.7), (2, 0.1)]) for u in (8, 9)]
    write_events(tmp_path / "log" / "events.jsonl", log_events(sessions))
    code = main([str(tmp_path / "log"), "--catalog", str(tmp_path / "tracks.json"),
                 "--out", str(tmp_path / "out"), "--holdout", "0.2", "--k", "2"])  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    rows = {line.split("|")[1].strip(): line.split("|")[2:] for line in out.splitlines()
            if line.startswith("| ") and "model" not in line}  # fmt: skip
    # Cases: 0 -> 1 and 1 -> 4, twice each. TopPop by plays: [3, 0] -> no hit.
    assert [c.strip() for c in rows["TopPop (plays)"][:4]] == ["4", "1.000", "0.0000", "0.0000"]
    # By listened time: [0, 1] -> 0 -> 1 hits at rank 2 (1 / log2 3), 1 -> 4 misses.
    hit, ndcg = (float(c) for c in rows["top_tracks (listened time)"][2:4])
    assert hit == pytest.approx(0.5) and ndcg == pytest.approx(0.5 / math.log2(3), abs=1e-4)
    # The next component learned 0 -> 1 (rank 1) and 1 -> 2 (so 1 -> 4 misses).
    hit, ndcg = (float(c) for c in rows["i2i next"][2:4])
    assert hit == pytest.approx(0.5) and ndcg == pytest.approx(0.5)


def test_the_users_coverage_is_the_share_of_cases_whose_user_listened_before(tmp_path, capsys):
    from offline.learn.train import main

    write_catalog(tmp_path / "tracks.json", list(range(10)))
    sessions = [(u, [(0, 1.0), (1, 0.9), (2, 0.9), (3, 0.0)]) for u in range(8)]
    # Held out: user 0, who listened before, and user 9, who did not; 2 cases each.
    sessions += [(u, [(0, 1.0), (1, 0.9), (4, 0.7), (2, 0.1)]) for u in (0, 9)]
    write_events(tmp_path / "log" / "events.jsonl", log_events(sessions))
    code = main([str(tmp_path / "log"), "--catalog", str(tmp_path / "tracks.json"),
                 "--out", str(tmp_path / "out"), "--holdout", "0.2"])  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    (users,) = [line.split("|")[2:4] for line in out.splitlines() if line.startswith("| users")]
    assert [c.strip() for c in users] == ["4", "0.500"]
    # the table says what that figure is, under it
    assert "coverage: the share of cases for which the model had a list at all." in out
    assert "users: a list only for a user who listened before the held-out sessions" in out
