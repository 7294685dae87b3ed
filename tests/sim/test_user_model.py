"""The course's listening model, against hand-computed cases."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from sim.config import UserDefaults
from sim.env import RecEnv
from sim.user import ListeningSession, UserParams, listened_fraction, round2, sigmoid
from sim.world import load_world
from sim.worldfiles import WorldPaths

# Tracks on the unit circle, so similarities are plain cosines:
#   0 (1, 0) A   1 (.8, .6) A   2 (.6, .8) B   3 (0, 1) B   4 (-1, 0) C   5 (.8, -.6) C
#   6 (.96, .28) A
EMBEDDINGS = np.array(
    [[1, 0], [0.8, 0.6], [0.6, 0.8], [0, 1], [-1, 0], [0.8, -0.6], [0.96, 0.28]],
    dtype=np.float32,
)
ARTISTS = ["A", "A", "B", "B", "C", "C", "A"]
PARAMS = UserParams(
    interest_neighbours=2,
    consume_bias=0.5,
    consume_sharpness=10.0,
    session_budget=2,
    artist_discount_gamma=0.8,
)


class ScriptedRng:
    """Stands in for the session's generator: the budget draws, in order."""

    def __init__(self, draws: list[float]) -> None:
        self.draws = list(draws)

    def random(self) -> float:
        return self.draws.pop(0)


@pytest.fixture(scope="module")
def tiny_world(tmp_path_factory):
    """The world above on disk, in the files' formats: user 0 is interested in track 0."""
    out = tmp_path_factory.mktemp("tiny")
    (out / "tracks.json").write_text(
        "".join(
            json.dumps({"track": t, "artist": a, "title": f"song {t}"}) + "\n"
            for t, a in enumerate(ARTISTS)
        )
    )
    np.save(out / "embeddings.npy", EMBEDDINGS)
    (out / "users.json").write_text(
        json.dumps({"user": 0, "interests": [0], "consume_bias": 0.5, "consume_sharpness": 10})
        + "\n"
    )
    paths = WorldPaths(
        tracks=out / "tracks.json",
        top_tracks=None,
        embeddings=out / "embeddings.npy",
        users=out / "users.json",
    )
    defaults = UserDefaults(interest_neighbours=2, session_budget=2, artist_discount_gamma=0.8)
    return load_world(paths, defaults)


def session(world, draws: list[float]) -> ListeningSession:
    """User 0's session started from track 0 (the interest itself)."""
    return ListeningSession(
        0, PARAMS, 0, 0, world.embeddings, world.track_artist, ScriptedRng(draws)
    )


@pytest.mark.parametrize(
    ("similarity", "bias", "sharpness", "gamma", "plays", "expected"),
    [
        (0.8, 0.5, 10.0, 0.8, 0, 0.95),  # sigmoid(3) = 0.9526
        (0.8, 0.5, 10.0, 0.8, 1, 0.76),  # 0.9526 * 0.8 = 0.7621
        (0.96, 0.5, 10.0, 0.8, 2, 0.63),  # sigmoid(4.6) * 0.64 = 0.9900 * 0.64 = 0.6336
        (0.6, 0.5, 10.0, 0.8, 0, 0.73),  # sigmoid(1) = 0.7311
        (-1.0, 0.5, 10.0, 0.8, 0, 0.0),  # sigmoid(-15) = 3e-7
        (6.2, 5.0, 1.0, 0.8, 0, 0.77),  # the course's defaults: sigmoid(1.2) = 0.7685
        (6.2, 5.0, 1.0, 0.8, 3, 0.39),  # 0.7685 * 0.512 = 0.3935
        (0.5, 0.5, 1.0, 0.125, 1, 0.06),  # 0.0625: half to even, as numpy.around
        (0.5, 0.5, 1.0, 0.875, 1, 0.44),  # 0.4375 -> 43.75 -> 44
        (-1e6, 5.0, 1e3, 0.8, 0, 0.0),  # far below the bias: no overflow
    ],
)
def test_listened_fraction_hand_computed(similarity, bias, sharpness, gamma, plays, expected):
    assert listened_fraction(similarity, bias, sharpness, gamma, plays) == expected


def test_formula_matches_the_courses_numpy_and_scipy_expression():
    special = pytest.importorskip("scipy.special")
    rng = np.random.default_rng(0)
    for _ in range(2000):
        similarity, bias = rng.uniform(-1, 1), rng.uniform(-1, 1)
        sharpness, gamma = rng.uniform(0, 30), rng.uniform(0.3, 1.0)
        plays = int(rng.integers(0, 6))
        course = np.around(
            special.expit((similarity - bias) * sharpness) * np.power(gamma, plays), decimals=2
        )
        ours = listened_fraction(similarity, bias, sharpness, gamma, plays)
        assert ours == pytest.approx(float(course), abs=1e-12), (similarity, bias, sharpness)


def test_round2_and_sigmoid():
    assert round2(0.125) == 0.12 and round2(0.135) == 0.14  # as numpy.around does
    assert sigmoid(0.0) == 0.5
    assert sigmoid(-800.0) == 0.0 and sigmoid(800.0) == 1.0
    assert math.isclose(sigmoid(3.0), 0.9525741268224334)


def test_listening_uses_similarity_to_the_session_interest(tiny_world):
    s = session(tiny_world, [0.0] * 10)
    assert s.similarity(1) == pytest.approx(0.8)
    assert s.listen(2) == 0.73  # artist B, no plays yet
    assert s.listen(5) == 0.95  # artist C, no plays yet
    assert s.listen(4) == 0.0  # opposite the interest


def test_repeat_is_listened_to_zero(tiny_world):
    s = session(tiny_world, [0.0] * 10)
    assert s.listen(0) == 0.0  # the first track counts as played
    assert s.consume(2) == 0.73
    assert s.consume(2) == 0.0


def test_artist_discount_counts_every_play_of_the_artist(tiny_world):
    s = session(tiny_world, [0.0] * 10)
    # the first track (artist A) already counts: 0.9526 * 0.8
    assert s.consume(1) == 0.76
    # two plays of A now: sigmoid(4.6) * 0.64
    assert s.listen(6) == 0.63
    # a play listened to for 0 counts too (the course counts every playback)
    s.consume(1)
    assert s.listen(6) == round2(sigmoid(4.6) * 0.8**3)
    assert s.artist_plays == {0: 3}


def test_budget_spent_by_steps_below_the_draw_and_session_end(tiny_world):
    # budget 2: a step costs one when its fraction is below the uniform draw
    s = session(tiny_world, [0.9, 0.5, 0.73, 0.1])
    assert s.consume(1) == 0.76 and s.budget == 1 and not s.finished  # 0.9 > 0.76: costs
    assert s.consume(2) == 0.73 and s.budget == 1  # 0.5 < 0.73: free
    assert s.consume(5) == 0.95 and s.budget == 1  # 0.73 < 0.95: free
    assert s.consume(0) == 0.0 and s.budget == 0  # a repeat: 0.1 > 0, the budget is spent
    assert s.finished and s.steps == 4
    assert s.total_time == pytest.approx(0.76 + 0.73 + 0.95)
    with pytest.raises(RuntimeError):
        s.consume(3)


def test_a_draw_equal_to_the_fraction_costs_nothing(tiny_world):
    s = session(tiny_world, [0.73])
    s.consume(2)
    assert s.budget == 2


def test_session_starts_among_the_interest_nearest_neighbours(tiny_world):
    env = RecEnv(tiny_world)
    firsts = set()
    for seed in range(40):
        observation, _ = env.reset(seed=seed, options={"user": 0})
        firsts.add(observation["track"])
    # interest_neighbours 2: track 0 itself (cos 1) and track 6 (cos .96), both drawn
    assert firsts == {0, 6}


def test_env_steps_end_when_budget_is_spent(tiny_world):
    env = RecEnv(tiny_world)
    env.reset(seed=1, options={"user": 0})
    rewards, terminated, steps = [], False, 0
    while not terminated:
        _, reward, terminated, truncated, _ = env.step(4)  # the opposite track: always 0 after
        rewards.append(reward)
        steps += 1
        assert not truncated
    # every step listened to 0 costs one unit (a draw in [0, 1) is almost surely above 0)
    assert steps == 2 and rewards == [0.0, 0.0]
    with pytest.raises(RuntimeError):
        env.step(3)


def test_per_user_values_override_the_config_defaults(tiny_world):
    params = tiny_world.users[0]
    assert params.consume_bias == 0.5 and params.consume_sharpness == 10.0  # from users.json
    assert params.session_budget == 2 and params.interest_neighbours == 2  # config defaults
