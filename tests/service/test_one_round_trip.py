"""A /next in one round trip: the listen's writes ride with the reads, the answer goes into the
session without waiting (botify.roundtrip). What no_repeat means is kept across workers, and what
is traded is pinned down: a request refused after its round trip has recorded its listen."""

from __future__ import annotations

import json
import logging

import pytest
import redis
import requests

from botify.data import DataView
from botify.eventlog import EventLog
from botify.experiments import build_experiments
from botify.loader import load
from botify.roundtrip import OwedReplies, round_trip, send_unwaited
from botify.service import Service
from botify.store import RedisStore, connect
from botify.validation import BadInput
from tests.conftest import small_dataset, write_config

RANKED_NO_REPEAT = [
    {"recommender": "contextual", "source": "i2i", "ranked": True, "no_repeat": True}
]


def test_what_was_recommended_but_not_played_is_not_recommended_again(
    tmp_path, redis_url, start_service, load_data
):
    """The client plays something else than the answer each time; the answers still walk the
    item list without a repeat, whichever of the two workers serves each request."""
    config = write_config(
        tmp_path,
        redis_url=redis_url,
        data=small_dataset(tmp_path / "data"),
        log_dir=str(tmp_path / "log"),
        experiments=[{"name": "EXP", "arms": {"C": RANKED_NO_REPEAT}}],
    )
    load_data(config)
    service = start_service(config, workers=2)
    answers = []
    for _ in range(5):
        with requests.Session() as fresh:  # a new connection: either worker may take it
            answer = fresh.post(f"{service.url}/next/3", json={"track": 7, "time": 1.0})
        answers.append(answer.json()["track"])
    assert answers == [8, 9, 10, 11, 12]  # 7's list, each answer excluded from then on
    with requests.Session() as fresh:
        fresh.post(f"{service.url}/last/3", json={"track": 7, "time": 1.0})
        assert fresh.post(f"{service.url}/next/3", json={"track": 7, "time": 1.0}).json() == {
            "user": 3,
            "track": 8,
        }


@pytest.fixture
def service_on_redis(loaded, tmp_path):
    """A Service on the real Redis whose idea of the live version is never refreshed by time
    (version_check_seconds: 60), as in the instant before a request learns of a reload."""
    history = [{"recommender": "history_i2i", "source": "i2i", "no_repeat": True}]
    config, _ = loaded(experiments=[{"name": "EXP", "arms": {"C": history}}])
    client = connect(config["redis_url"])
    store = RedisStore(client, namespace=config["namespace"], version_check_seconds=60)
    data = DataView(store)
    events = EventLog(tmp_path / "log")
    yield config, store, Service(store, data, build_experiments(config, data), events)
    events.close()


def next_track(service: Service, user: int, track: int, listened: float) -> int:
    return service.next(user, track, listened, service.arrival())["track"]


def test_a_track_outside_the_catalog_is_refused_before_the_round_trip(service_on_redis):
    config, store, service = service_on_redis
    next_track(service, 1, 3, 1.0)
    client = connect(config["redis_url"])
    before = sorted(client.scan_iter("botify:u:*"))
    state = {key: client.dump(key) for key in before}
    with pytest.raises(BadInput, match="not in the catalog"):
        next_track(service, 1, 500, 1.0)
    assert {key: client.dump(key) for key in client.scan_iter("botify:u:*")} == state


def test_the_trade_a_reload_removing_the_track_meanwhile_records_the_listen(
    service_on_redis, tmp_path
):
    """The request is checked against the version the worker knows, its round trip finds a
    newer one without the track: a 404, and its listen is in the history."""
    config, store, service = service_on_redis
    next_track(service, 1, 3, 1.0)  # the worker knows version 1 (tracks 0..99)
    smaller = small_dataset(tmp_path / "smaller", n_tracks=50)
    load(config.with_overrides(data=smaller), connect(config["redis_url"]), grace=0)
    with pytest.raises(BadInput, match="track: 70 is not in the catalog"):
        next_track(service, 1, 70, 0.5)
    history = connect(config["redis_url"]).lrange("botify:u:{1}:history", 0, -1)
    assert history[0] == b"70:0.5"


@pytest.mark.one_redis
def test_writes_sent_without_waiting_leave_the_connection_in_step(redis_url, caplog):
    client = connect(redis_url, in_flight=1)  # one connection, reused by every call
    send_unwaited(client, [("SET", "a", "1"), ("SET", "b", "2")])
    assert client.get("a") == b"1" and client.mget("a", "b") == [b"1", b"2"]
    client.set("not-a-set", "x")
    failures = OwedReplies.failures
    with caplog.at_level(logging.ERROR, logger="botify.roundtrip"):
        send_unwaited(client, [("SADD", "not-a-set", "1")])
        assert client.get("a") == b"1"  # the error reply was not taken for this one's
    assert "WRONGTYPE" in caplog.text
    assert OwedReplies.failures == failures + 1  # counted for /healthz
    pipe = client.pipeline(transaction=False)
    send_unwaited(client, [("INCR", "n")])
    pipe.get("n").get("a")
    assert pipe.execute() == [b"1", b"1"]


def test_a_logged_listen_matches_what_redis_holds(service_on_redis):
    config, store, service = service_on_redis
    next_track(service, 4, 10, 0.8)
    answer = next_track(service, 4, 11, 0.6)
    client = connect(config["redis_url"])
    assert client.lrange("botify:u:{4}:history", 0, -1) == [b"11:0.6", b"10:0.8"]
    seen = {int(t) for t in client.smembers("botify:u:{4}:seen")}
    assert {10, 11, answer} <= seen
    service.events.flush()
    events = [json.loads(line) for line in service.events.path.read_text().splitlines()]
    assert [e["recommendation"] for e in events][-1] == answer


@pytest.mark.one_redis
def test_a_round_trip_survives_a_dropped_connection_and_reads_past_an_error(redis_url):
    client = connect(redis_url, in_flight=1)
    assert round_trip(client, [("SET", "k", "1"), ("GET", "k")]) == [b"OK", b"1"]
    connect(redis_url).client_kill_filter(_type="normal", skipme=True)
    assert round_trip(client, [("GET", "k")]) == [b"1"]  # retried on a fresh connection
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        round_trip(client, [("SMEMBERS", "k"), ("SET", "after", "2")])
    assert round_trip(client, [("GET", "after")]) == [b"2"]  # the rest ran, still in step
