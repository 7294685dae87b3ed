"""SessionArtists on data read from files into the in-process store (botify.inprocess), the
store the lab's simulated days serve from: the first track's list, followed as far as the
session enjoys each artist."""

from __future__ import annotations

import json

import pytest

from botify.data import DataView
from botify.dataset import read_dataset
from botify.inprocess import MemoryStore
from botify.recommenders import SessionArtists, build_chain
from tests.recommenders.asking import ask

STATE = frozenset({"session", "history"})
# Artist k has tracks 10k..10k+3; track 0's list is its artist's 1, 2, then artist 1's 10, 11,
# artist 2's 20, then 3.
LIST_OF_0 = [1, 2, 10, 11, 20, 3]


@pytest.fixture
def data(tmp_path):
    catalog = tmp_path / "tracks.json"
    catalog.write_text(
        "".join(
            json.dumps({"track": 10 * a + i, "artist": f"artist {a}", "title": "t"}) + "\n"
            for a in range(3)
            for i in range(4)
        )
    )
    items = tmp_path / "i2i.json"
    lists = {0: LIST_OF_0, 10: [11, 12, 0, 1]}
    items.write_text(
        "".join(json.dumps({"track": t, "recommendations": r}) + "\n" for t, r in lists.items())
    )
    return DataView(MemoryStore(read_dataset(catalog, None, {"i2i": items})))


def play(data: DataView, user: int, track: int, time: float, answer: int) -> None:
    """What the service records for a /next: the listen, then its answer."""
    data.store.record(user, track, time, answer, STATE)


def test_follows_the_first_tracks_list_in_order_without_repeats(data):
    link = SessionArtists(data, source="i2i", ranked=True, no_repeat=True)
    assert ask(data, link, 1, 0, 1.0) == 1  # the session starts with 0: its list's first
    play(data, 1, 0, 1.0, 1)
    # Track 1 heard well: still track 0's list (not track 1's, which has none), next in order.
    assert ask(data, link, 1, 1, 0.8) == 2
    play(data, 1, 1, 0.8, 2)
    assert ask(data, link, 1, 2, 0.7) == 10


def test_leaves_an_artist_the_session_tired_of(data):
    link = SessionArtists(data, source="i2i", ranked=True, no_repeat=True, tired=0.3)
    play(data, 1, 0, 1.0, 1)
    play(data, 1, 1, 0.8, 2)
    # Artist 0's latest listen (track 2) was short: its track 3 is left, artist 1 is next.
    assert ask(data, link, 1, 2, 0.2) == 10
    play(data, 1, 2, 0.2, 10)
    # Artist 1 skipped at once: artist 2 next, though 11 comes first in the list.
    assert ask(data, link, 1, 10, 0.05) == 20
    play(data, 1, 10, 0.05, 20)
    # Everything left is by tired artists: nothing to say, the chain's next link answers.
    assert ask(data, link, 1, 20, 0.1) is None
    # Without the option (tired 0) the list is followed to its end.
    assert (
        ask(
            data,
            SessionArtists(data, source="i2i", ranked=True, no_repeat=True, tired=0),
            1,
            20,
            0.1,
        )
        == 11
    )


def test_earlier_sessions_listens_do_not_tire_the_new_one(data):
    link = SessionArtists(data, source="i2i", ranked=True, no_repeat=True)
    play(data, 1, 10, 1.0, 11)
    play(data, 1, 11, 0.0, 12)  # artist 1 skipped in that session
    data.store.end_session(1)
    play(data, 1, 0, 1.0, 1)
    play(data, 1, 1, 0.9, 2)
    play(data, 1, 2, 0.9, 10)
    assert ask(data, link, 1, 10, 0.9) == 11  # artist 1 is fine in this session


def test_a_chain_passes_on_when_the_first_track_has_no_list(data):
    chain = build_chain(
        [{"recommender": "session_artists", "source": "i2i", "ranked": True}], data, "test"
    )
    answer = chain.answer(1, 20, 1.0)
    assert answer.link == "random"  # the chain's Random answers
    assert ask(data, SessionArtists(data, source="i2i"), 1, 20, 1.0) is None


@pytest.mark.parametrize("tired", [-0.1, 1.5, "0.3", True])
def test_a_bad_threshold_is_refused_by_name(data, tired):
    with pytest.raises(ValueError, match="'tired'"):
        SessionArtists(data, source="i2i", tired=tired)
