"""The course's HTTP protocol, exactly, plus /healthz and /experiments, over real HTTP."""

import requests


def test_the_four_endpoints_of_the_course(loaded, serve_app):
    config, _ = loaded()
    server = serve_app(config)
    hello = requests.get(server.url + "/")
    assert hello.status_code == 200
    assert hello.json()["status"] == "alive" and "message" in hello.json()

    track = requests.get(server.url + "/track/7")
    assert track.status_code == 200
    assert track.json() == {"track": 7, "artist": "artist 1", "title": "song 7"}
    assert requests.get(server.url + "/track/100000").status_code == 404

    answer = requests.post(server.url + "/next/3", json={"track": 7, "time": 0.5})
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"user", "track"} and body["user"] == 3
    assert body["track"] in {8, 9, 10, 11, 12}  # track 7's item-to-item list

    last = requests.post(server.url + "/last/3", json={"track": body["track"], "time": 0.2})
    assert last.status_code == 200 and last.json() == {"user": 3}


def test_every_accepted_request_is_one_event_in_the_course_format(loaded, serve_app):
    config, _ = loaded()
    server = serve_app(config)
    requests.post(server.url + "/next/3", json={"track": 7, "time": 0.5})
    requests.post(server.url + "/last/3", json={"track": 9, "time": 0.25})
    requests.post(server.url + "/next/3", json={"track": 7, "time": 5})  # rejected: not logged
    first, second = server.events()[-2:]
    assert len(server.events()) == 2
    assert first["message"] == "next" and second["message"] == "last"
    for event in (first, second):
        assert isinstance(event["timestamp"], int) and event["timestamp"] > 1.6e12
        assert event["user"] == 3
        assert isinstance(event["latency"], float) and 0 <= event["latency"] < 5
        assert event["experiments"] == {"EXP": "C"}
    assert first["track"] == 7 and first["time"] == 0.5
    assert first["recommendation"] in {8, 9, 10, 11, 12} and first["recommender"] == "contextual"
    assert second["recommendation"] is None and second["recommender"] is None


def test_healthz_needs_redis_and_a_loaded_version(make_config, serve_app, redis_url):
    config = make_config()
    server = serve_app(config)  # nothing loaded yet
    health = requests.get(server.url + "/healthz")
    assert health.status_code == 503 and "botify load" in health.json()["message"]
    answer = requests.post(server.url + "/next/1", json={"track": 1, "time": 1.0})
    assert answer.status_code == 503 and "message" in answer.json()
    assert server.events() == []

    from botify.loader import load
    from botify.store import connect

    load(config, connect(redis_url), grace=0)
    health = requests.get(server.url + "/healthz")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert requests.post(server.url + "/next/1", json={"track": 1, "time": 1.0}).status_code == 200


def test_experiments_lists_arms_and_chains(loaded, serve_app):
    config, _ = loaded(
        routing_experiment="AB",
        experiments=[
            {
                "name": "AB",
                "arms": {"C": ["sticky_artist"], "T1": [{"recommender": "top_pop", "top_n": 5}]},
            },
            {"name": "AA", "arms": 2},
        ],
    )
    described = requests.get(serve_app(config).url + "/experiments").json()
    assert described["routing"] == "AB"
    ab, aa = described["experiments"]
    assert ab["arms"] == 2 and aa == {"name": "AA", "arms": 2, "chains": None}
    assert [link["name"] for link in ab["chains"]["C"]] == ["sticky_artist", "random"]
    assert ab["chains"]["T1"][0]["top_n"] == 5


def test_unknown_routes_and_methods_answer_json(loaded, serve_app):
    config, _ = loaded()
    server = serve_app(config)
    missing = requests.get(server.url + "/nowhere")
    assert missing.status_code == 404 and "message" in missing.json()
    wrong_method = requests.get(server.url + "/next/1")
    assert wrong_method.status_code == 405 and "message" in wrong_method.json()
