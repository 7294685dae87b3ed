"""Classes written for the course's service (tests/course_shaped) run unchanged in botify chains
through botify.recommenders.course_adapter: in a served chain over HTTP and the real Redis, what
each database object gives, and the config errors that name what is wrong."""

from __future__ import annotations

import json
import pickle
from collections import Counter

import pytest
import requests

from botify.arms import bucket
from botify.config import ConfigError
from botify.data import DataView, Listen, history_key, items_key, users_key
from botify.dataset import read_dataset
from botify.inprocess import MemoryStore
from botify.recommenders import build_chain
from botify.recommenders.course_adapter import CourseAdapter, CourseAdapterError, ReadOnlyError
from botify.track import Track
from tests.conftest import small_dataset

PACKAGE = "tests.course_shaped"
LONGEST = f"{PACKAGE}.longest_listen:LongestListen"
NEXT_OF_ARTIST = f"{PACKAGE}.same_artist:NextOfArtist"
USER_LIST = f"{PACKAGE}.user_list:UserList"
ANY_TRACK = f"{PACKAGE}.any_track:AnyTrack"

# C: the course-shaped classes one after the other, each passing to the next by its fallback;
# T1: a Random-style class.
EXPERIMENT = {
    "name": "COURSE",
    "arms": {
        "C": [
            {"recommender": LONGEST, "name": "longest", "course": {"i2i_redis": "items:i2i"}},
            {
                "recommender": USER_LIST,
                "name": "user_list",
                "course": {"recommendations_redis": "users:ub"},
            },
            {"recommender": NEXT_OF_ARTIST, "name": "artist"},
        ],
        "T1": [{"recommender": ANY_TRACK, "name": "any"}],
    },
}


def users_of(arm: int, users: range) -> list[int]:
    return [user for user in users if bucket(user, "COURSE", 2) == arm]


def test_course_classes_in_a_served_chain(serve):
    """The small dataset: artist k has tracks 5k..5k+4, track t's list is t+1..t+5, user u < 20
    has the list u..u+9."""
    server = serve([EXPERIMENT])

    def next_(user: int, track: int, time: float) -> tuple:
        reply = requests.post(f"{server.url}/next/{user}", json={"track": track, "time": time})
        assert reply.status_code == 200, reply.text
        event = server.events()[-1]
        assert event["recommendation"] == reply.json()["track"] and event["failed"] == []
        assert event["propensity"] is None  # a course class states none
        return event["recommendation"], event["recommender"]

    listener, newcomer = users_of(0, range(20, 100))[:2]
    # The history holds this request's listen: 30, listened most, its list's first track.
    assert next_(listener, 30, 0.9) == (31, "longest")
    # 30 is still the longest listen: its list's first track not heard yet.
    assert next_(listener, 31, 0.2) == (32, "longest")
    # Below half listened: LongestListen's fallback is UserList (no list for this user), whose
    # fallback is NextOfArtist: 7's artist has 5..9, the one after 7.
    assert next_(newcomer, 7, 0.3) == (8, "artist")
    assert next_(newcomer, 9, 0.3) == (5, "artist")
    # A user with a list: UserList, a random track of it.
    listed = users_of(0, range(20))[0]
    picks = {next_(listed, 42, 0.1) for _ in range(30)}
    assert {link for _, link in picks} == {"user_list"}
    assert {track for track, _ in picks} <= set(range(listed, listed + 10))
    # T1: a random catalog track, the track database's random key.
    t1 = users_of(1, range(100))[0]
    picks = {next_(t1, 3, 1.0) for _ in range(30)}
    assert {link for _, link in picks} == {"any"} and len(picks) > 5


@pytest.fixture
def data(tmp_path):
    files = small_dataset(tmp_path)
    catalog = tmp_path / "tracks_with_recs.json"
    lines = [json.loads(line) for line in (tmp_path / "tracks.json").read_text().splitlines()]
    lines[7]["recommendations"] = [8, 3]
    catalog.write_text("".join(json.dumps(line) + "\n" for line in lines))
    dataset = read_dataset(
        catalog, None, files["item_recommendations"], files["user_recommendations"]
    )
    return DataView(MemoryStore(dataset))


def adapter(data: DataView, link: dict) -> CourseAdapter:
    recommender = build_chain([link], data, "test").links[0].recommender
    assert isinstance(recommender, CourseAdapter)
    return recommender


def test_the_databases_give_what_the_course_stored(data):
    longest = adapter(data, {"recommender": LONGEST, "course": {"i2i_redis": "items:i2i"}})
    history, i2i = longest.instance.listen_history_redis, longest.instance.i2i_redis
    artist = adapter(data, {"recommender": NEXT_OF_ARTIST})
    tracks, artists, catalog = (
        artist.instance.track_redis,
        artist.instance.artist_redis,
        artist.instance.catalog,
    )
    for track in range(12):
        data.store.record(5, track, track / 10, None, longest.state)
    with data.request(longest.reads(5, 50), Listen(5, 50, 1.0, longest.state)):
        key = "user:5:listens"
        entries = [json.loads(entry) for entry in history.lrange(key, 0, -1)]
        # At most 10, newest first, this request's listen first.
        assert entries == [{"track": 50, "time": 1.0}] + [
            {"track": t, "time": t / 10} for t in range(11, 2, -1)
        ]
        assert history.llen(key) == 10 and history.exists(key, "user:6:listens") == 1
        assert [json.loads(e)["track"] for e in history.connection.lrange(key, -2, -1)] == [4, 3]
        assert history.lrange(key, 3, 1) == [] and history.lrange("user:6:listens", 0, -1) == []
        with pytest.raises(CourseAdapterError, match="WRONGTYPE"):
            history.get(key)
    assert pickle.loads(i2i.get(98)) == [99, 0, 1, 2, 3] and i2i.get(b"98") == i2i.get(98)
    assert i2i.get(1234) is None and i2i.get("no such key") is None
    assert catalog.from_bytes(tracks.get(7)) == Track(7, "artist 1", "song 7", [8, 3])
    assert catalog.from_bytes(tracks.get("8")) == Track(8, "artist 1", "song 8", [])
    assert tracks.get(100) is None and tracks.exists(7, 100) == 1
    assert catalog.from_bytes(artists.get("artist 1")) == [5, 6, 7, 8, 9]
    assert artists.get("nobody") is None
    assert {int(tracks.randomkey()) for _ in range(200)} <= set(range(100))
    assert artists.randomkey().decode().startswith("artist ")
    with pytest.raises(CourseAdapterError, match="randomkey"):
        i2i.randomkey()
    with pytest.raises(ReadOnlyError, match="read-only"):
        tracks.set(7, b"x")
    with pytest.raises(AttributeError, match="get, exists, lrange"):
        tracks.keys("*")


def test_a_write_fails_the_link_and_the_next_one_answers(data):
    chain = build_chain([{"recommender": f"{PACKAGE}.any_track:Writes"}], data, "test")
    answer = chain.answer(1, 7, 1.0)
    assert answer.link == "random" and answer.failed == (f"{PACKAGE}.any_track:Writes",)


def test_reseed_makes_the_global_random_draws_repeat(data):
    link = adapter(
        data, {"recommender": USER_LIST, "course": {"recommendations_redis": "users:ub"}}
    )

    def picks(key: str) -> list:
        link.reseed(key)
        return [link.recommend_next(3, 5, 1.0) for _ in range(20)]

    assert picks("a") == picks("a") != picks("b")
    assert Counter(picks("c")).keys() <= set(range(3, 13)) - {5}


def test_a_plain_class_taking_data_is_built_as_before(data, tmp_path, monkeypatch):
    (tmp_path / "plain_recs.py").write_text(
        "class Plain:\n"
        "    def __init__(self, data, track=3):\n"
        "        self.track = track\n"
        "    def recommend_next(self, user, prev_track, prev_track_time):\n"
        "        return self.track\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    chain = build_chain([{"recommender": "plain_recs:Plain", "track": 4}], data, "test")
    assert chain.recommend(1, 7, 1.0) == (4, "plain_recs:Plain")


@pytest.mark.parametrize(
    ("link", "message"),
    [
        (
            {"recommender": LONGEST},
            r"'i2i_redis'.*\"course\": \{\"i2i_redis\": \"items:<source>\"\}",
        ),
        (
            {"recommender": LONGEST, "course": {"i2i_redis": "i2i"}},
            r"'i2i_redis' maps to 'i2i'; expected \"items:<source>\"",
        ),
        (
            {"recommender": LONGEST, "course": {"i2i_redis": "items:i2i", "other": "users:ub"}},
            r"maps 'other', which LongestListen's constructor does not take",
        ),
        ({"recommender": LONGEST, "course": ["items:i2i"]}, "'course' must map"),
        (
            {"recommender": ANY_TRACK, "ranked": True},
            "option\\(s\\) ranked: AnyTrack's constructor takes no such parameter",
        ),
        (
            {"recommender": ANY_TRACK, "explore": {"probability": 0.1}},
            "explore needs a recommender that states its propensities",
        ),
        ({"recommender": "course_i2i", "source": "i2i", "course": {}}, "'course' is for a class"),
    ],
)
def test_config_errors_name_the_parameter_and_what_is_understood(link, message):
    with pytest.raises(ConfigError, match=message) as raised:
        build_chain([link], DataView(None), "arm C")
    assert str(raised.value).startswith("arm C[0]: ")


def test_an_unknown_parameter_lists_the_names_understood(tmp_path, monkeypatch):
    (tmp_path / "odd_recs.py").write_text(
        "class Odd:\n"
        "    def __init__(self, banana, track_redis, threshold=0.5):\n"
        "        pass\n"
        "    def recommend_next(self, user, prev_track, prev_track_time):\n"
        "        return 1\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ConfigError) as raised:
        build_chain([{"recommender": "odd_recs:Odd"}], DataView(None), "arm C")
    message = str(raised.value)
    assert "Odd's parameter 'banana' is not understood" in message
    for understood in ("'history' or 'listen'", "'artist'", "'track'", "'catalog'", "'fallback'"):
        assert understood in message
    # Given as a link option, it is passed; a parameter with a default keeps it.
    chain = build_chain([{"recommender": "odd_recs:Odd", "banana": 2}], DataView(None), "C")
    assert chain.links[0].describe()["course"] == {"banana": "option", "track_redis": "tracks"}


def test_what_a_course_class_likely_reads_comes_in_the_requests_round_trip(data):
    longest = adapter(data, {"recommender": LONGEST, "course": {"i2i_redis": "items:i2i"}})
    assert longest.state == {"history"}
    assert longest.reads(5, 50) == [history_key(5), items_key("i2i", 50)]
    listed = adapter(
        data, {"recommender": USER_LIST, "course": {"recommendations_redis": "users:ub"}}
    )
    assert listed.state == frozenset() and listed.reads(5, 50) == [users_key("ub", 5)]
    # The previous track's record carries the catalog's list for it.
    assert adapter(data, {"recommender": NEXT_OF_ARTIST}).reads(5, 50) == [items_key("catalog", 50)]


def test_the_course_catalog_unpickles_track_records_and_plain_values_only():
    import os
    import pickle

    from botify.track import Catalog as CourseCatalog
    from botify.track import Track

    catalog = CourseCatalog()
    record = Track(3, "artist", "title", [4, 5])
    assert catalog.from_bytes(catalog.to_bytes(record)) == record
    assert catalog.from_bytes(catalog.to_bytes([1, 2, 3])) == [1, 2, 3]
    with pytest.raises(pickle.UnpicklingError, match="posix.system"):
        catalog.from_bytes(pickle.dumps(os.system))  # a pickle that would call a function
