"""A/B bucketing: exactly the course's formula, balanced, and every experiment's arm logged."""

import mmh3
import pytest
import requests

from botify.arms import arm_names, bucket
from botify.config import ConfigError
from botify.experiments import Experiment

# Arms of users 0, 7, 14, ... 399 as the course's service computes them, with its mmh3 3.1:
# mmh3.hash(str(user), mmh3.hash(name), signed=False) % n (a negative seed was taken mod 2**32).
COURSE_ARMS = {
    ("STICKY_ARTIST", 2): "1111011110101011011101100100011101011111110100110000011101",
    ("AA", 3): "0110220001112220100101210001022000222200021102202121100221",
    ("HOMEWORK", 4): "2022302223303023133130211110301131110221010132001131110330",
}


@pytest.mark.parametrize(("name", "n_arms"), list(COURSE_ARMS))
def test_bucketing_matches_the_course_service(name, n_arms):
    experiment = Experiment(name, arm_names(n_arms))
    arms = "".join(str(experiment.arms.index(experiment.arm(u))) for u in range(0, 400, 7))
    assert arms == COURSE_ARMS[(name, n_arms)]


def test_bucketing_is_the_formula_for_many_users():
    experiment = Experiment("STICKY_ARTIST", arm_names(3))
    seed = mmh3.hash("STICKY_ARTIST") % 2**32
    for user in range(0, 200_000, 7):
        expected = mmh3.hash(str(user), seed, signed=False) % 3
        assert experiment.arm(user) == ["C", "T1", "T2"][expected]
        assert bucket(user, "STICKY_ARTIST", 3) == expected


@pytest.mark.parametrize("n_arms", [2, 3, 5])
def test_split_is_balanced(n_arms):
    experiment = Experiment("BALANCE", arm_names(n_arms))
    users = 60_000
    counts = {arm: 0 for arm in experiment.arms}
    for user in range(users):
        counts[experiment.arm(user)] += 1
    expected = users / n_arms
    # Binomial sd is about sqrt(users/n); 5 sd is a test that fails only on a real imbalance.
    for count in counts.values():
        assert abs(count - expected) < 5 * (expected * (1 - 1 / n_arms)) ** 0.5


def test_every_declared_experiment_is_logged_and_one_routes(loaded, serve_app):
    config, _ = loaded(
        routing_experiment="AB",
        experiments=[
            {
                "name": "AB",
                "arms": {
                    "C": [{"recommender": "top_pop", "ranked": True}],
                    "T1": [{"recommender": "contextual", "source": "i2i", "ranked": True}],
                },
            },
            {"name": "AA", "arms": 2},
            {"name": "THREE", "arms": 3},
        ],
    )
    server = serve_app(config)
    for user in range(40):
        answer = requests.post(f"{server.url}/next/{user}", json={"track": 7, "time": 1.0}).json()
        arm = Experiment("AB", ["C", "T1"]).arm(user)
        assert answer["track"] == (0 if arm == "C" else 8)
    for event in server.events():
        user = event["user"]
        assert event["experiments"] == {
            "AB": Experiment("AB", ["C", "T1"]).arm(user),
            "AA": Experiment("AA", ["C", "T1"]).arm(user),
            "THREE": Experiment("THREE", ["C", "T1", "T2"]).arm(user),
        }


@pytest.mark.parametrize(
    ("experiments", "routing", "message"),
    [
        ([{"name": "A", "arms": {"C": ["random"], "T2": ["random"]}}], None, "named C, T1"),
        ([{"name": "A", "arms": 0}], None, "at least 1"),
        ([{"name": "A", "arms": 2}, {"name": "A", "arms": 2}], None, "unique"),
        ([{"name": "A", "arms": 2}], "B", "routing_experiment"),
        ([{"arms": 2}], None, "name"),
        ([{"name": "A", "arms": {"C": ["random"]}, "colour": 1}], None, "unknown key"),
    ],
)
def test_bad_experiments_fail_with_a_clear_message(make_config, experiments, routing, message):
    from botify.app import create_app

    with pytest.raises(ConfigError, match=message):
        create_app(make_config(experiments=experiments, routing_experiment=routing))
