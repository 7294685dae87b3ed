"""course_i2i: the course's I2IRecommender (an anchor drawn from the last 10 listens by listened
time, the first unseen track of its list, anchors that give nothing removed and the draw
repeated). Its propensities are checked against the course's draw-and-remove process, enumerated
here on its own; its draws against those propensities; and a chain of it over the real Redis."""

from __future__ import annotations

import json
from collections import Counter, defaultdict

import pytest
import requests

from botify.data import DataView, Listen
from botify.dataset import read_dataset
from botify.inprocess import MemoryStore
from botify.recommenders.course_i2i import CourseI2I
from tests.conftest import write_lines

USER = 1
# Item-to-item lists of tracks 0..39 (the catalog); tracks 4, 7, 8 and 9 have none.
LISTS = {
    0: [1, 2, 30],
    1: [2, 3, 10],
    2: [1, 11],
    3: [1, 2, 3],
    5: [10, 12],
    6: [31],
    10: [0, 1, 2, 3, 5, 6],
    11: [12],
    12: [11],
}


def course_distribution(listens: list[tuple[int, float]], lists: dict, limit: int = 10) -> dict:
    """The course's I2IRecommender, as probabilities: every path of its draw-and-remove loop
    enumerated. Keys: an answer, None (no anchor left: its fallback), "raises" (random.choices
    over weights that are all zero)."""
    listens = listens[:limit]
    seen = {track for track, _ in listens}
    weights: dict[int, float] = defaultdict(float)
    for track, time in listens:
        weights[track] += time

    def first_unseen(anchor: int):
        return next((t for t in lists.get(anchor, []) if t not in seen), None)

    def walk(anchors: list[int], probability: float, out: Counter) -> None:
        if not anchors:
            out[None] += probability
            return
        total = sum(weights[a] for a in anchors)
        if total == 0:
            out["raises"] += probability
            return
        for anchor in anchors:
            share = probability * weights[anchor] / total
            if share == 0:
                continue
            answer = first_unseen(anchor)
            if answer is not None:
                out[answer] += share
            else:
                walk([a for a in anchors if a != anchor], share, out)

    out: Counter = Counter()
    walk(list(weights), 1.0, out)
    return dict(out)


@pytest.fixture
def data(tmp_path):
    catalog = write_lines(
        tmp_path / "tracks.json",
        ({"track": t, "artist": f"a{t // 4}", "title": f"s{t}"} for t in range(40)),
    )
    # The course's own shapes: "item_id" lines in a .jsonl, no newline after the last line.
    items = tmp_path / "sasrec_i2i.jsonl"
    items.write_text(
        "\n".join(json.dumps({"item_id": t, "recommendations": r}) for t, r in LISTS.items())
    )
    return DataView(MemoryStore(read_dataset(catalog, None, {"sasrec": items})))


def request_draw(link: CourseI2I, data: DataView, earlier: list, track: int, time: float):
    """The link's draw for a /next of (track, time) after the `earlier` listens (oldest first),
    as the service asks it: its reads fetched up front with this request's listen recorded."""
    for earlier_track, earlier_time in earlier:
        data.store.record(USER, earlier_track, earlier_time, None, link.state)
    with data.request(link.reads(USER, track), Listen(USER, track, time, link.state)):
        return link.draw(USER, track, time), data.history(USER)


def probabilities(draw, tracks) -> dict:
    return {t: draw.probability(t) for t in tracks if draw.probability(t) > 0}


CASES = {
    # (earlier listens, oldest first; this request's track and time)
    "one anchor, its list": ([], (0, 0.5)),
    "exhausted and listless anchors skipped": (
        [(6, 0.0), (5, 0.4), (4, 0.9), (3, 1.0), (1, 0.2), (2, 0.3)],
        (1, 0.5),
    ),
    "two anchors give one answer": ([(5, 0.7), (0, 0.1)], (1, 0.6)),
    "a track listened twice sums its time": ([(2, 0.25), (10, 1.0), (2, 0.25)], (5, 0.3)),
    "only the last 10 listens": (
        [(6, 1.0), (31, 0.2)] + [(t, 0.1) for t in (7, 8, 9, 7, 8, 9, 7, 8)] + [(4, 1.0)],
        (3, 0.2),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_propensities_are_the_courses_draw_and_remove_probabilities(data, case):
    earlier, (track, time) = CASES[case]
    link = CourseI2I(data, source="sasrec")
    draw, history = request_draw(link, data, earlier, track, time)
    expected = course_distribution(history, LISTS)
    assert history[0] == (track, time)  # the request's own listen is in the history, first
    assert None not in expected and "raises" not in expected
    assert probabilities(draw, range(40)) == pytest.approx(expected)


def test_the_last_ten_listens_only_leave_older_tracks_unseen(data):
    earlier, (track, time) = CASES["only the last 10 listens"]
    draw, _ = request_draw(CourseI2I(data, source="sasrec"), data, earlier, track, time)
    # 6 (and 31, its answer) are 11th and 12th newest: 31 is unseen, 6 no anchor. Anchor 3's list
    # is 1, 2, 3 (all unseen but 3): its answer is 1.
    assert probabilities(draw, range(40)) == pytest.approx({1: 1.0})


def test_many_seeded_draws_follow_the_propensities(data):
    earlier, (track, time) = CASES["exhausted and listless anchors skipped"]
    link = CourseI2I(data, source="sasrec", seed=12345)
    for earlier_track, earlier_time in earlier:
        data.store.record(USER, earlier_track, earlier_time, None, link.state)
    n = 20_000
    with data.request(link.reads(USER, track), Listen(USER, track, time, link.state)):
        choices = [link.choose(USER, track, time) for _ in range(n)]
        expected = course_distribution(data.history(USER), LISTS)
    counts = Counter(choice.track for choice in choices)
    assert set(counts) == set(expected) == {10, 11}
    for answer, probability in expected.items():
        propensities = {c.propensity for c in choices if c.track == answer}
        assert len(propensities) == 1 and propensities.pop() == pytest.approx(probability)
        spread = (probability * (1 - probability) / n) ** 0.5
        assert abs(counts[answer] / n - probability) < 4 * spread


def test_the_requests_own_listen_is_an_anchor(data):
    # No history before: this request's track is the only anchor, its list's first track the
    # answer (the course records the listen before it asks the recommender).
    draw, _ = request_draw(CourseI2I(data, source="sasrec"), data, [], 6, 0.9)
    assert probabilities(draw, range(40)) == {31: 1.0}


@pytest.mark.parametrize(
    ("earlier", "request_listen"),
    [
        ([(4, 1.0), (7, 0.5)], (8, 0.5)),  # no anchor has a list
        ([(11, 0.5)], (12, 0.5)),  # 11's list is 12, 12's is 11: both seen
    ],
)
def test_nothing_left_answers_none(data, earlier, request_listen):
    track, time = request_listen
    draw, history = request_draw(CourseI2I(data, source="sasrec"), data, earlier, track, time)
    assert course_distribution(history, LISTS) == {None: 1.0}  # the course falls back
    assert draw is None


def test_all_zero_weights_answer_none_where_the_course_raises(data):
    link = CourseI2I(data, source="sasrec")
    draw, history = request_draw(link, data, [(5, 0.0)], 0, 0.0)
    assert course_distribution(history, LISTS) == {"raises": 1.0}
    assert draw is None
    # A positive anchor that gives nothing leaves only zero-weight ones: the course raises too.
    data.store.histories.clear()
    draw, history = request_draw(link, data, [(5, 0.0), (4, 1.0)], 0, 0.0)
    assert course_distribution(history, LISTS) == {"raises": 1.0}
    assert draw is None


def test_no_repeat_and_ranked(data):
    earlier, (track, time) = CASES["a track listened twice sums its time"]
    ranked = CourseI2I(data, source="sasrec", ranked=True)
    draw, _ = request_draw(ranked, data, earlier, track, time)
    # The most probable answer: 10's 0 (1.0 of 1.8), not 2's 1 (0.5) nor this listen's 12 (0.3).
    assert probabilities(draw, range(40)) == {0: 1.0}
    earlier, (track, time) = CASES["exhausted and listless anchors skipped"]
    # no_repeat: 10 was recommended in this session, so anchor 1 has nothing left (2 and 3 are
    # seen), 5 gives 12 instead and 2 still 11.
    data.store.histories.clear()
    link = CourseI2I(data, source="sasrec", no_repeat=True)
    data.store.record(USER, 30, 1.0, 10, frozenset({"session"}))
    draw, _ = request_draw(link, data, earlier, track, time)
    assert probabilities(draw, range(40)) == pytest.approx({11: 0.3 / 0.7, 12: 0.4 / 0.7})


@pytest.mark.parametrize("local_sources_max_mb", [256, 0])  # the lists in memory, or in Redis
def test_in_a_chain_of_the_service_over_redis(serve, local_sources_max_mb):
    """The small dataset: track t's list is t+1..t+5."""
    chain = [{"recommender": "course_i2i", "source": "i2i"}]
    server = serve(
        [{"name": "EXP", "arms": {"C": chain}}], local_sources_max_mb=local_sources_max_mb
    )

    def next_(user: int, track: int, time: float) -> tuple:
        reply = requests.post(f"{server.url}/next/{user}", json={"track": track, "time": time})
        assert reply.status_code == 200, reply.text
        event = server.events()[-1]
        assert event["recommendation"] == reply.json()["track"]
        return event["recommendation"], event["recommender"], event["propensity"]

    answers: Counter = Counter()
    for user in range(100, 190):
        # The request's own listen is the only anchor: 10's list's first track, for sure.
        assert next_(user, 10, 1.0) == (11, "course_i2i", 1.0)
        # Anchors 20 (0.5: its answer 21) and 10 (1.0: its answer 11, still unseen).
        track, link, propensity = next_(user, 20, 0.5)
        assert link == "course_i2i"
        assert propensity == pytest.approx({11: 1 / 1.5, 21: 0.5 / 1.5}[track])
        answers[track] += 1
    assert answers[11] > answers[21] > 0  # about 60 and 30
    # Every weight zero (where the course's random.choices raises): the chain's Random answers.
    assert next_(3, 30, 0.0)[1:] == ("random", 1 / 100)
