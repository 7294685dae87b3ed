"""The propensity of every answer (the probability the chain chose its track with), exploration's
mixture, and the field in the event log; on the small dataset in the real Redis (tracks 0..99,
artist k has tracks 5k..5k+4, track t's item list is t+1..t+5, the chart is 0..99)."""

from collections import Counter

import pytest
import requests

from botify.config import ConfigError
from botify.recommenders import HistoryI2I, build_chain
from botify.store import RedisStore
from tests.conftest import small_dataset, write_lines


def answers(chain, user=1, prev=7, time=0.5, n=1):
    return [chain.answer(user, prev, time) for _ in range(n)]


@pytest.mark.parametrize(
    ("link", "propensity"),
    [
        ("random", 1 / 100),
        ({"recommender": "top_pop", "top_n": 4}, 1 / 4),
        ({"recommender": "top_pop", "ranked": True}, 1.0),
        ("sticky_artist", 1 / 4),  # artist 1's tracks but 7
        ({"recommender": "contextual", "source": "i2i"}, 1 / 5),
        ({"recommender": "contextual", "source": "i2i", "ranked": True}, 1.0),
    ],
)
def test_uniform_picks_state_one_over_n_and_ranked_picks_one(loaded, link, propensity):
    _, data = loaded()
    answer = build_chain([link], data, "test").answer(1, 7, 0.5)
    assert answer.propensity == pytest.approx(propensity)


def test_no_repeat_counts_only_the_candidates_left(loaded):
    _, data = loaded()
    store: RedisStore = data.store
    chain = build_chain(
        [{"recommender": "contextual", "source": "i2i", "no_repeat": True}], data, "t"
    )
    store.record(4, 7, 1.0, 8, chain.state)  # 8 recommended, 7 played: 9..12 are left
    assert chain.answer(4, 7, 1.0).propensity == pytest.approx(1 / 4)
    random = build_chain([{"recommender": "random", "no_repeat": True}], data, "t")
    assert random.answer(4, 7, 1.0).propensity == pytest.approx(1 / 98)
    for track in (9, 10, 11, 12):
        store.record(4, 7, 1.0, track, chain.state)
    answer = chain.answer(4, 7, 1.0)  # none left: the chain's own Random (repeats allowed) answers
    assert answer.link == "random" and answer.propensity == pytest.approx(1 / 100)


def test_history_i2i_weighted_draw_states_its_weights(loaded):
    _, data = loaded()
    history = HistoryI2I(data, source="i2i", history=5, seed=1)  # a fixed sample: no flake
    data.store.record(9, 50, 1.0, None, history.state)
    draw = history.draw(9, 20, 0.5)
    candidates = list(range(21, 26)) + list(range(51, 56))
    assert sum(draw.probability(t) for t in candidates) == pytest.approx(1.0)
    assert draw.probability(51) > draw.probability(21)  # 50 was listened to longer than 20
    counts = Counter(history.choose(9, 20, 0.5).track for _ in range(2000))
    assert counts[51] / 2000 == pytest.approx(draw.probability(51), abs=0.04)


def genre_catalog(tmp_path, genres=2):
    """The small dataset with artist k in genre k % genres."""
    data = small_dataset(tmp_path / "data")
    rows = (
        {"track": t, "artist": f"artist {t // 5}", "title": f"s{t}", "genre": f"g{t // 5 % genres}"}
        for t in range(100)
    )
    data["catalog"] = str(write_lines(tmp_path / "data" / "genres.json", rows))
    return data


def test_exploration_from_genre_mates_logs_the_mixtures_probability(tmp_path, loaded):
    _, data = loaded(data=genre_catalog(tmp_path))
    link = {"recommender": "contextual", "source": "i2i", "ranked": True,
            "explore": {"probability": 0.25, "from": "genre"}}  # fmt: skip
    chain = build_chain([link], data, "test", seed=3)
    served = answers(chain, prev=7, n=2000)  # artist 1, genre g1: mates are artists 3, 5, ... 19
    mates = {t for t in range(100) if t // 5 % 2 == 1 and t // 5 != 1}
    assert len(mates) == 45
    best = [a for a in served if a.track == 8]
    assert len(best) / len(served) == pytest.approx(0.75, abs=0.03)
    assert all(a.propensity == pytest.approx(0.75) for a in best)
    explored = [a for a in served if a.track != 8]
    assert {a.track for a in explored} <= mates and len({a.track for a in explored}) > 30
    assert all(a.propensity == pytest.approx(0.25 / 45) for a in explored)
    assert chain.describe()[0]["explore"] == {"probability": 0.25, "from": "genre"}


def test_a_track_both_policies_can_pick_has_the_sum_of_both(loaded):
    _, data = loaded()
    link = {"recommender": "contextual", "source": "i2i", "ranked": True,
            "explore": {"probability": 0.5, "from": "top", "top_n": 10}}  # fmt: skip
    served = answers(build_chain([link], data, "test", seed=1), prev=7, n=400)
    by_track = {a.track: a.propensity for a in served}
    assert by_track[8] == pytest.approx(0.5 + 0.5 / 10)  # ranked first, and in the top 10
    assert by_track[3] == pytest.approx(0.5 / 10)


def test_a_link_with_nothing_to_say_does_not_explore_and_own_classes_state_nothing(loaded):
    _, data = loaded()
    link = {
        "recommender": "indexed",
        "source": "ub",
        "explore": {"probability": 0.1, "from": "catalog"},
    }
    chain = build_chain([link, {"recommender": "top_pop", "ranked": True}], data, "test")
    for _ in range(50):  # no list for user 999: the next link answers, every time
        assert chain.answer(999, 7, 0.5) == (0, "top_pop", (), 1.0)
    echo = {"recommender": "tests.service.test_recommenders:EchoRecommender", "offset": 3}
    assert build_chain([echo], data, "test").answer(1, 7, 0.5).propensity is None


@pytest.mark.parametrize(
    ("explore", "message"),
    [
        (0.1, "must be an object"),
        ({"probability": 0}, r"in \(0, 1\]"),
        ({"probability": "0.1"}, "must be a number"),
        ({"probability": 0.1, "from": "radio"}, "'from' must be one of"),
        ({"probability": 0.1, "from": "top", "top_n": 0}, "top_n"),
        ({"probability": 0.1, "rate": 2}, "unknown key"),
    ],
)
def test_bad_exploration_fails_with_a_clear_config_error(loaded, explore, message):
    _, data = loaded()
    with pytest.raises(ConfigError, match=message):
        build_chain([{"recommender": "top_pop", "explore": explore}], data, "arms.C")
    own = {
        "recommender": "tests.service.test_recommenders:EchoRecommender",
        "explore": {"probability": 0.1},
    }
    with pytest.raises(ConfigError, match="states its propensities"):
        build_chain([own], data, "arms.C")


def test_the_event_log_records_the_propensity_of_every_next(loaded, serve_app):
    config, _ = loaded()
    server = serve_app(config)  # the contextual chain: a random one of the 5 listed tracks
    requests.post(server.url + "/next/3", json={"track": 7, "time": 0.5})
    requests.post(server.url + "/last/3", json={"track": 9, "time": 0.25})
    served, last = server.events()[-2:]
    assert served["propensity"] == pytest.approx(1 / 5)
    assert last["propensity"] is None
