"""The bad-input table: every malformed request gets a 4xx JSON message naming what was wrong,
changes no state, logs nothing, and the same user's next valid request succeeds."""

import pytest
import requests

BIG = 2**64 + 5

# (body as raw bytes, the word the message must name)
BAD_BODIES = [
    (b"", "body"),
    (b"not json", "body"),
    (b"[1, 2]", "body"),
    (b'"track"', "body"),
    (b"{}", "track"),
    (b'{"time": 0.5}', "track"),
    (b'{"track": 1}', "time"),
    (b'{"track": "x", "time": 0.5}', "track"),
    (b'{"track": true, "time": 0.5}', "track"),
    (b'{"track": 1, "time": true}', "time"),
    (b'{"track": 1.0, "time": 0.5}', "track"),
    (b'{"track": -1, "time": 0.5}', "track"),
    (f'{{"track": {BIG}, "time": 0.5}}'.encode(), "track"),
    (b'{"track": 1, "time": NaN}', "time"),
    (b'{"track": 1, "time": Infinity}', "time"),
    (b'{"track": 1, "time": -Infinity}', "time"),
    (b'{"track": 1, "time": -0.1}', "time"),
    (b'{"track": 1, "time": 1.5}', "time"),
    (b'{"track": 1, "time": "0.5"}', "time"),
    (b'{"track": 1, "time": null}', "time"),
    (b'{"track": 99999, "time": 0.5}', "track"),  # not in the catalog: 404
]


@pytest.fixture
def server(loaded, serve_app):
    config, _ = loaded(
        experiments=[
            {
                "name": "EXP",
                "arms": {
                    "C": [
                        {
                            "recommender": "indexed",
                            "source": "ub",
                            "ranked": True,
                            "no_repeat": True,
                        }
                    ]
                },
            }
        ]
    )
    return serve_app(config)


@pytest.mark.parametrize("endpoint", ["next", "last"])
@pytest.mark.parametrize(("body", "field"), BAD_BODIES)
def test_bad_body_is_a_4xx_naming_the_field(server, endpoint, body, field):
    answer = requests.post(
        f"{server.url}/{endpoint}/4", data=body, headers={"Content-Type": "application/json"}
    )
    assert 400 <= answer.status_code < 500, answer.text
    assert answer.json()["message"].startswith(field), answer.json()
    assert server.events() == []
    follow_up = requests.post(f"{server.url}/{endpoint}/4", json={"track": 4, "time": 0.5})
    assert follow_up.status_code == 200
    assert len(server.events()) == 1


@pytest.mark.parametrize("user", ["-1", "abc", "1.5", str(2**64), "%201"])
def test_bad_user_in_the_path_is_a_400_naming_user(server, user):
    answer = requests.post(f"{server.url}/next/{user}", json={"track": 1, "time": 0.5})
    assert answer.status_code == 400
    assert answer.json()["message"].startswith("user")
    assert server.events() == []


def test_oversized_body_is_413_and_changes_nothing(server):
    body = b'{"track": 1, "time": 0.5, "pad": "' + b"x" * 10_000 + b'"}'
    answer = requests.post(f"{server.url}/next/4", data=body)
    assert answer.status_code == 413 and "message" in answer.json()
    assert server.events() == []


def test_nan_time_does_not_poison_the_user(server):
    """In the course's service one NaN made the user fail with 500 on every later request."""
    for _ in range(3):
        bad = requests.post(f"{server.url}/next/4", data=b'{"track": 4, "time": NaN}')
        assert bad.status_code == 400
    answers = [
        requests.post(f"{server.url}/next/4", json={"track": 4, "time": 0.5}).json()["track"]
        for _ in range(3)
    ]
    # A rejected request recorded nothing: the ranked walk starts at the top of user 4's list
    # (4 itself was played, so 5, 6, 7).
    assert answers == [5, 6, 7]


def test_unknown_user_is_a_cold_start(server):
    answer = requests.post(f"{server.url}/next/123456789", json={"track": 4, "time": 0.5})
    assert answer.status_code == 200
    assert 0 <= answer.json()["track"] < 100
    assert server.events()[-1]["recommender"] == "random"
