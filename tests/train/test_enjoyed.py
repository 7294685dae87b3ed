"""The per-user `enjoyed` model on logs whose right answer is known."""

from __future__ import annotations

import json

from offline.learn.enjoyed import enjoyed_lists
from offline.learn.train import main
from tests.train.helpers import log_events, write_catalog, write_events
from tests.train.test_models import ids, listens_of

SOLO = list(range(12))


def test_each_track_once_at_its_best_listen_best_first(tmp_path):
    sessions = [
        (1, [(0, 1.0), (3, 0.6), (4, 0.9), (5, 0.2)]),  # 0 starts the session: not a measure
        (1, [(6, 1.0), (3, 0.95), (7, 0.5)]),
        (2, [(8, 1.0), (9, 0.4)]),  # nothing enjoyed
        (3, [(1, 1.0), (2, 0.7)]),
    ]
    tracks, listens, _ = listens_of(tmp_path, sessions, SOLO)
    users, lists = enjoyed_lists(listens, 5, 0.5)
    assert users.tolist() == [1, 3]
    assert ids(tracks, lists[0]) == [3, 4, 7]  # 3 at its 0.95
    assert ids(tracks, lists[1]) == [2]
    users, lists = enjoyed_lists(listens, 2, 0.5, only=[1])
    assert users.tolist() == [1] and ids(tracks, lists[0]) == [3, 4] and lists.shape == (1, 2)
    users, lists = enjoyed_lists(listens, 5, 0.96)  # nothing heard that much
    assert len(users) == 0 and lists.shape == (0, 5)


def test_botify_train_writes_them_as_the_enjoyed_source(tmp_path):
    catalog = write_catalog(tmp_path / "tracks.json", SOLO)
    sessions = [(u, [(0, 1.0), (u + 1, 0.8), (u + 2, 0.1)]) for u in range(5)]
    write_events(tmp_path / "log" / "events.jsonl", log_events(sessions))
    out = tmp_path / "out"
    code = main([str(tmp_path / "log"), "--catalog", str(catalog), "--out", str(out),
                 "--model", "users", "--users", "enjoyed", "--holdout", "0"])  # fmt: skip
    assert code == 0
    lines = [json.loads(line) for line in (out / "users.json").read_text().splitlines()]
    assert lines == [{"user": u, "tracks": [u + 1]} for u in range(5)]
    data = json.loads((out / "botify_data.json").read_text())
    assert list(data["user_recommendations"]) == ["enjoyed"]
    meta = json.loads((out / "users.meta.json").read_text())
    assert meta["parameters"] == {"method": "enjoyed", "users_n": 100, "enjoyed": 0.5}
