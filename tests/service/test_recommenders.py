"""Every recommender and option, on data loaded into the real Redis (tracks 0..99, artist k has
tracks 5k..5k+4, track t's item list is t+1..t+5, user u's list is u..u+9, the chart is 0..99)."""

import pytest

from botify.data import DataView, Listen, history_key
from botify.eventlog import EventLog
from botify.experiments import build_experiments
from botify.recommenders import (
    Contextual,
    HistoryI2I,
    Indexed,
    Random,
    StickyArtist,
    TopPop,
    build_chain,
)
from botify.recommenders.base import Recommender
from botify.service import Service
from botify.store import RedisStore, connect


def sample(recommender, user=1, prev=7, time=0.5, n=200):
    return {recommender.recommend_next(user, prev, time) for _ in range(n)}


def test_random_is_uniform_over_any_catalog_ids(tmp_path, loaded):
    from tests.conftest import write_lines

    sparse = write_lines(
        tmp_path / "sparse.json",
        ({"track": t * 1000 + 3, "artist": "a", "title": "t"} for t in range(4)),
    )
    _, data = loaded(data={"catalog": str(sparse)})
    picks = [Random(data).recommend_next(1, 3, 1.0) for _ in range(400)]
    assert set(picks) == {3, 1003, 2003, 3003}
    assert min(picks.count(t) for t in set(picks)) > 60  # about 100 each


def test_top_pop_random_among_top_n_or_ranked(loaded):
    _, data = loaded()
    assert sample(TopPop(data, top_n=3)) == {0, 1, 2}
    assert sample(TopPop(data, ranked=True)) == {0}


def test_sticky_artist_previous_and_session_first(loaded):
    _, data = loaded()
    assert sample(StickyArtist(data), prev=7) == {5, 6, 8, 9}  # artist 1, not track 7 itself
    store: RedisStore = data.store
    sticky_first = StickyArtist(data, anchor="session_first")
    assert sample(sticky_first, prev=12) == {10, 11, 13, 14}  # no session yet: 12 starts it
    store.record(1, 12, 1.0, 40, frozenset({"session"}))
    assert sample(sticky_first, prev=40) == {10, 11, 13, 14}  # artist of the first track, 12


def test_indexed_and_contextual_lists(loaded):
    _, data = loaded()
    assert sample(Indexed(data, source="ub"), user=3) == set(range(3, 13))
    assert sample(Indexed(data, source="ub"), user=999) == {None}  # a user it does not know
    assert sample(Contextual(data, source="i2i"), prev=7) == {8, 9, 10, 11, 12}
    assert sample(Contextual(data, source="i2i", ranked=True), prev=7) == {8}


def test_no_repeat_walks_the_list_within_a_session_and_restarts_after_last(loaded):
    _, data = loaded()
    store: RedisStore = data.store
    indexed = Indexed(data, source="ub", ranked=True, no_repeat=True)
    prev, walk = 50, []
    for _ in range(10):
        recommendation = indexed.recommend_next(2, prev, 0.9)
        if recommendation is None:
            break
        walk.append(recommendation)
        store.record(2, prev, 0.9, recommendation, indexed.state)
        prev = recommendation
    assert walk == list(range(2, 12))[:10] or walk == [2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
    assert indexed.recommend_next(2, prev, 0.9) is None  # the list is used up
    store.end_session(2)
    assert indexed.recommend_next(2, 50, 0.9) == 2


def test_random_pick_with_no_repeat_never_repeats(loaded):
    _, data = loaded()
    store: RedisStore = data.store
    contextual = Contextual(data, source="i2i", no_repeat=True)
    picks = []
    for _ in range(5):
        track = contextual.recommend_next(5, 7, 1.0)
        picks.append(track)
        store.record(5, 7, 1.0, track, contextual.state)
    assert sorted(picks) == [8, 9, 10, 11, 12]
    assert contextual.recommend_next(5, 7, 1.0) is None


def in_request(data, recommender, user, prev, time):
    """The recommender's answer in a request, as the service asks it: its reads fetched in one
    round trip that records the listen."""
    listen = Listen(user, prev, time, recommender.state)
    with data.request(recommender.reads(user, prev), listen):
        return recommender.recommend_next(user, prev, time)


def test_history_i2i_weights_anchors_by_listened_time(loaded):
    _, data = loaded()
    store: RedisStore = data.store
    history = HistoryI2I(data, source="i2i", ranked=True, history=5)
    store.record(9, 50, 1.0, None, history.state)  # listened fully: votes for 51..55
    store.record(9, 70, 0.0, None, history.state)  # skipped: no vote
    # 50's list outvotes the weak current anchor
    assert in_request(data, history, 9, 20, 0.1) == 51
    # now 20 weighs 1.0 + 0.1 (this listen and the one before) against 50's 1.0
    assert in_request(data, history, 9, 20, 1.0) == 21


def test_history_i2i_with_all_zero_weights_still_answers(loaded):
    _, data = loaded()
    store: RedisStore = data.store
    history = HistoryI2I(data, source="i2i", history=5)
    store.record(3, 40, 0.0, None, history.state)
    answers = {in_request(data, history, 3, 60, 0.0) for _ in range(100)}
    assert answers and None not in answers
    assert answers <= {41, 42, 43, 44, 45, 61, 62, 63, 64, 65}


class HistoryReader(Recommender):
    """Answers the track of the history's newest listen: declaring the read, or not."""

    state = frozenset({"history"})

    def __init__(self, data, *, declares: bool, **options):
        super().__init__(data, **options)
        self.declares = declares

    def reads(self, user, prev_track):
        return [history_key(user)] if self.declares else []

    def recommend_next(self, user, prev_track, prev_track_time):
        self.seen = self.data.history(user)
        return self.seen[0][0]


@pytest.mark.parametrize("declares", [True, False])
def test_history_includes_the_requests_own_listen_whether_the_read_is_declared(loaded, declares):
    config, _ = loaded()
    store = RedisStore(
        connect(config["redis_url"]), config["namespace"], version_check_seconds=0, history_length=3
    )
    data = DataView(store)
    reader = HistoryReader(data, declares=declares)
    store.record(4, 10, 0.5, None, reader.state)
    store.record(4, 11, 0.25, None, reader.state)
    store.record(4, 12, 1.0, None, reader.state)
    assert in_request(data, reader, 4, 30, 0.75) == 30
    # newest first, this listen included, as long as history_length keeps
    assert reader.seen == [(30, 0.75), (12, 1.0), (11, 0.25)]
    assert store.read([history_key(4)])[1][0] == reader.seen  # as the store now holds it


def test_chain_falls_through_and_always_ends_in_random(loaded):
    _, data = loaded()
    chain = build_chain([{"recommender": "indexed", "source": "ub"}], data, "test")
    assert [link.name for link in chain.links] == ["indexed", "random"]
    track, link = chain.recommend(999, 7, 0.5)  # unknown user: Indexed has nothing
    assert link == "random" and 0 <= track < 100


def test_skip_thresholds_pass_to_the_next_link(loaded):
    _, data = loaded()
    chain = build_chain(
        [
            {"recommender": "contextual", "source": "i2i", "skip_below": 0.3},
            {"recommender": "top_pop", "ranked": True, "skip_at_or_below": 0.1},
        ],
        data,
        "test",
    )
    assert chain.recommend(1, 7, 0.3)[1] == "contextual"
    assert chain.recommend(1, 7, 0.29) == (0, "top_pop")
    assert chain.recommend(1, 7, 0.1)[1] == "random"


class EchoRecommender:
    """A user's own recommender in the course's style: recommend_next only."""

    def __init__(self, data, offset=1):
        self.data = data
        self.offset = offset

    def recommend_next(self, user, prev_track, prev_track_time):
        return prev_track + self.offset


class BrokenRecommender:
    def __init__(self, data):
        pass

    def recommend_next(self, user, prev_track, prev_track_time):
        raise KeyError("oops")


def test_own_recommender_by_import_path_with_options(loaded):
    _, data = loaded()
    chain = build_chain(
        [{"recommender": "tests.service.test_recommenders:EchoRecommender", "offset": 3}],
        data,
        "test",
    )
    assert chain.recommend(1, 7, 0.5) == (10, "tests.service.test_recommenders:EchoRecommender")
    assert chain.recommend(1, 99, 0.5)[1] == "random"  # 102 is not in the catalog


def test_a_failing_recommender_passes_to_the_next_link(loaded):
    _, data = loaded()
    chain = build_chain(
        [
            {"recommender": "tests.service.test_recommenders.BrokenRecommender", "name": "mine"},
            "top_pop",
        ],
        data,
        "test",
    )
    assert chain.recommend(1, 7, 0.5)[1] == "top_pop"


@pytest.mark.parametrize(
    ("link", "message"),
    [
        ({"recommender": "no_such_thing"}, "unknown recommender"),
        ({"recommender": "nopackage.module:Class"}, "cannot import"),
        ({"recommender": "contextual"}, "source"),
        ({"recommender": "top_pop", "top_n": 0}, "top_n"),
        ({"recommender": "top_pop", "colour": "red"}, "colour"),
        ({"recommender": "random", "ranked": "yes"}, "ranked"),
        ({"recommender": "random", "skip_below": 2}, "skip_below"),
        ({"recommender": "sticky_artist", "anchor": "last"}, "anchor"),
        (42, "a link must be"),
    ],
)
def test_bad_links_fail_with_a_clear_config_error(loaded, link, message):
    from botify.config import ConfigError

    _, data = loaded()
    with pytest.raises(ConfigError, match=message):
        build_chain([link], data, "experiments[0].arms.C")


def test_a_link_that_always_fails_is_logged_once_in_full_then_counted(
    tmp_path, monkeypatch, caplog
):
    from botify.config import load_config
    from botify.inprocess import InProcessRecommender
    from tests.conftest import small_dataset, write_broken_plugin, write_config

    plugin = write_broken_plugin(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    config = write_config(
        tmp_path,
        data=small_dataset(tmp_path / "data"),
        experiments=[{"name": "E", "arms": {"C": [{"recommender": plugin}]}}],
    )
    recommender = InProcessRecommender(load_config(config))
    with caplog.at_level("ERROR", logger="botify.recommenders.chain"):
        for user in range(200):
            recommender.recommend_next(user, 3, 0.5)
    assert recommender.service.experiments.failures() == {"C": {plugin: 200}}
    records = [r for r in caplog.records if plugin in r.getMessage()]
    assert len(records) == 1 and records[0].exc_info is not None  # not 200 tracebacks
    assert "raised ValueError: The truth value" in records[0].getMessage()


@pytest.mark.parametrize("keeps_history", [True, False])
def test_a_last_listen_joins_the_history_of_a_chain_that_keeps_one(loaded, tmp_path, keeps_history):
    link = {"recommender": "history_i2i" if keeps_history else "contextual", "source": "i2i"}
    config, data = loaded(experiments=[{"name": "EXP", "arms": {"C": [link]}}])
    events = EventLog(tmp_path / "log")
    service = Service(data.store, data, build_experiments(config, data), events)
    service.next(6, 10, 1.0, service.arrival())
    service.last(6, 11, 0.25, service.arrival())
    events.close()
    history = data.store.read([history_key(6)])[1][0]
    assert history == ([(11, 0.25), (10, 1.0)] if keeps_history else [])
