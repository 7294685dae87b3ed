"""The per-user factorisation with item features (`--users features`) on logs whose right answer
is known."""

from __future__ import annotations

import json

from offline.learn.feature_factors import FeatureParams, feature_lists
from offline.learn.train import main
from tests.train.helpers import log_events, write_catalog, write_events
from tests.train.test_models import ids, listens_of

# Artist 0: tracks 0..4 and artist 1: tracks 5..9 (genre 0); artist 2: tracks 10..14 (genre 1).
ARTISTS = [0] * 5 + [1] * 5 + [2] * 5
GENRES = [0] * 10 + [1] * 5
PARAMS = FeatureParams(factors=8, epochs=60, batch=64, learning_rate=0.1)


def two_tastes():
    """Users 0-19 enjoy artist 0's tracks 0-3 and skip artist 1's; users 20-39 the reverse
    (tracks 5-8). Nobody plays track 4 or track 9; nobody plays genre 1."""
    sessions = []
    for user in range(40):
        liked, other = (0, 5) if user < 20 else (5, 0)
        for start in range(4):
            played = [(liked + (start + k) % 4, 0.9) for k in range(1, 3)]
            skipped = [(other + (start + k) % 4, 0.05) for k in range(2)]
            sessions.append((user, [(liked + start, 1.0), *played, *skipped]))
    return sessions


def test_an_unplayed_track_of_an_enjoyed_artist_ranks_above_a_skipped_artists(tmp_path):
    tracks, listens, _ = listens_of(tmp_path, two_tastes(), ARTISTS, GENRES)
    users, lists = feature_lists(listens, tracks.artists, tracks.genres, 0.5, PARAMS, 10)
    assert users.tolist() == list(range(40))
    for row, user in enumerate(users.tolist()):
        listed = ids(tracks, lists[row])
        unplayed, skipped = (4, range(5, 10)) if user < 20 else (9, range(0, 5))
        # the artist's vector carries what its played tracks taught to the one nobody played
        assert listed.index(unplayed) < min(listed.index(t) for t in skipped)
        # only the genres the user enjoyed
        assert not set(listed) & set(range(10, 15))
    again = feature_lists(listens, tracks.artists, tracks.genres, 0.5, PARAMS, 10)[1]
    assert (again == lists).all()  # seeded


def test_botify_train_writes_them_as_the_features_source(tmp_path):
    catalog = write_catalog(tmp_path / "tracks.json", ARTISTS, GENRES)
    write_events(tmp_path / "log" / "events.jsonl", log_events(two_tastes()))
    out = tmp_path / "out"
    args = [str(tmp_path / "log"), "--catalog", str(catalog), "--out", str(out)]
    args += ["--model", "users", "--users", "features", "--factors", "8", "--epochs", "3"]
    assert main(args) == 0
    section = json.loads((out / "botify_data.json").read_text())
    assert section["user_recommendations"] == {"features": str(out.resolve() / "users.json")}
    lines = [json.loads(line) for line in (out / "users.json").read_text().splitlines()]
    assert len(lines) == 40 and all(set(line["tracks"]) <= set(range(10)) for line in lines)
    meta = json.loads((out / "users.meta.json").read_text())
    assert meta["parameters"]["method"] == "features" and meta["parameters"]["epochs"] == 3
    assert main([*args, "--epochs", "0"]) == 2  # an option out of range is named, not run
