"""Replay on data read from files into the in-process store: the user's enjoyed tracks of the
session's genre, best first."""

from __future__ import annotations

import json

import pytest

from botify.data import DataView
from botify.dataset import read_dataset
from botify.inprocess import MemoryStore
from botify.recommenders import Replay
from tests.recommenders.asking import ask

STATE = frozenset({"session", "history"})


@pytest.fixture
def data(tmp_path):
    # Artist k has tracks 10k..10k+3; artists 0 and 1 are rock, artist 2 jazz.
    genres = {0: "rock", 1: "rock", 2: "jazz"}
    catalog = tmp_path / "tracks.json"
    catalog.write_text(
        "".join(
            json.dumps({"track": 10 * a + i, "artist": f"a{a}", "title": "t", "genre": g}) + "\n"
            for a, g in genres.items()
            for i in range(4)
        )
    )
    users = tmp_path / "enjoyed.json"
    users.write_text(json.dumps({"user": 1, "tracks": [21, 11, 22, 2, 12]}) + "\n")
    return DataView(MemoryStore(read_dataset(catalog, None, None, {"enjoyed": users})))


def test_the_users_tracks_of_the_sessions_genre_in_order(data):
    link = Replay(data, source="enjoyed", ranked=True, no_repeat=True)
    assert ask(data, link, 1, 0, 1.0) == 11  # a rock session: 21 and 22 are jazz
    data.store.record(1, 0, 1.0, 11, STATE)
    assert ask(data, link, 1, 11, 0.9) == 2  # the first track's genre, not the last's
    data.store.end_session(1)
    # A new session from a jazz track: the user's jazz tracks, at random without `ranked`.
    assert {ask(data, Replay(data, source="enjoyed"), 1, 20, 1.0) for _ in range(50)} == {
        21,
        22,
    }
    assert ask(data, link, 7, 0, 1.0) is None  # a user without a list


def test_leaves_the_artists_the_session_tired_of(data):
    link = Replay(data, source="enjoyed", ranked=True, no_repeat=True, tired=0.3)
    data.store.record(1, 0, 1.0, 11, STATE)
    assert ask(data, link, 1, 11, 0.1) == 2  # artist 1 skipped: its 12 is left too
    data.store.record(1, 11, 0.1, 2, STATE)
    assert ask(data, link, 1, 2, 0.2) is None  # artist 0 tired as well: nothing left


def test_a_catalog_without_genres_is_refused_by_name(tmp_path):
    catalog = tmp_path / "tracks.json"
    catalog.write_text(json.dumps({"track": 1, "artist": "a", "title": "t"}) + "\n")
    users = tmp_path / "enjoyed.json"
    users.write_text(json.dumps({"user": 1, "tracks": [1]}) + "\n")
    data = DataView(MemoryStore(read_dataset(catalog, None, None, {"enjoyed": users})))
    with pytest.raises(ValueError, match="replay needs a 'genre'"):
        Replay(data, source="enjoyed").recommend_next(1, 1, 1.0)
