"""config.json's `seed`: each request's random picks are a function of the seed, the user and
the user's listening history, so the same traffic gets the same answers in any order."""

from __future__ import annotations

import random

import pytest

from botify.config import ConfigError
from botify.data import DataView
from botify.eventlog import EventLog
from botify.experiments import build_experiments
from botify.recommenders import Recommender
from botify.service import Service
from botify.store import RedisStore, connect

RANDOM_PICKS = [
    {"recommender": "contextual", "source": "i2i", "explore": {"probability": 0.3}},
    {"recommender": "top_pop", "top_n": 50},
]


def traffic(seed: int) -> list[tuple[int, int, float]]:
    """Sessions of five users, interleaved: (user, track, listened)."""
    rng = random.Random(seed)
    return [(rng.randrange(1, 6), rng.randrange(100), round(rng.random(), 3)) for _ in range(200)]


def answers(loaded, tmp_path, requests, seed, order):
    config, _ = loaded(seed=seed, experiments=[{"name": "EXP", "arms": {"C": RANDOM_PICKS}}])
    client = connect(config["redis_url"])
    for key in client.scan_iter(f"{config['namespace']}:u:*"):
        client.delete(key)  # no state left from an earlier run
    store = RedisStore.for_config(config, 4)
    data = DataView(store)
    events = EventLog(tmp_path / f"log-{seed}-{len(order)}-{order[0]}")
    service = Service(store, data, build_experiments(config, data), events)
    got = {}
    for i in order:
        user, track, listened = requests[i]
        got[i] = service.next(user, track, listened, service.arrival())["track"]
    events.close()
    return [got[i] for i in sorted(got)]


def per_user_order(requests, reverse_users):
    """Each user's requests in their order, the users taken in another order."""
    users = sorted({user for user, _, _ in requests}, reverse=reverse_users)
    return [i for user in users for i, request in enumerate(requests) if request[0] == user]


def test_the_same_traffic_gets_the_same_answers_in_any_interleaving(loaded, tmp_path):
    requests = traffic(1)
    first = answers(loaded, tmp_path, requests, 7, list(range(len(requests))))
    again = answers(loaded, tmp_path, requests, 7, per_user_order(requests, reverse_users=True))
    assert first == again
    other_seed = answers(loaded, tmp_path, requests, 8, list(range(len(requests))))
    assert sum(a != b for a, b in zip(first, other_seed, strict=True)) > len(requests) // 4


def test_without_a_seed_each_process_draws_its_own(loaded, tmp_path):
    requests = traffic(2)
    order = list(range(len(requests)))
    first = answers(loaded, tmp_path, requests, None, order)
    second = answers(loaded, tmp_path, requests, None, order)
    assert sum(a != b for a, b in zip(first, second, strict=True)) > len(requests) // 4


@pytest.mark.parametrize("bad", ["7", 1.5, True])
def test_a_seed_must_be_an_integer(loaded, bad):
    with pytest.raises(ConfigError, match="seed: must be an integer or null"):
        loaded(seed=bad)


class Interleaved(Recommender):
    """Has nothing to say, but first lets another request run to its end, as a worker does
    with another request while this one waits for Redis."""

    meanwhile: list = []

    def candidates(self, user, prev_track, prev_track_time):
        while self.meanwhile:
            self.meanwhile.pop()()
        return None


def test_a_request_interleaved_with_another_draws_what_it_draws_alone(loaded, tmp_path):
    chain = [{"recommender": "tests.service.test_request_seed:Interleaved"}, "random"]
    config, _ = loaded(seed=3, experiments=[{"name": "EXP", "arms": {"C": chain}}])
    store = RedisStore.for_config(config, 4)
    data = DataView(store)
    events = EventLog(tmp_path / "log")
    service = Service(store, data, build_experiments(config, data), events)

    def ask(user, track):
        return service.next(user, track, 0.5, service.arrival())["track"]

    alone = [ask(1, 10), ask(2, 20)]
    client = connect(config["redis_url"])
    for key in client.scan_iter(f"{config['namespace']}:u:*"):
        client.delete(key)
    other: list[int] = []
    Interleaved.meanwhile.append(lambda: other.append(ask(2, 20)))
    assert [ask(1, 10), *other] == alone  # user 2's request ran inside user 1's
    events.close()
