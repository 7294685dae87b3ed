"""`botify listen`'s page over real HTTP against a real `botify serve` (gunicorn, a real Redis):
a session played through the listener is in the service's event log as the simulator would have
sent it; bad input is a 4xx naming it and reaches nothing; a failing service is named."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from botify.arms import arm_names, bucket
from botify.config import load_config
from botify.loader import load
from botify.redis_server import free_port
from botify.store import connect
from lab.cli import COMMANDS
from lab.listener.main import main
from lab.processes import Process
from sim.world import World

from .listening import (
    ROUTING,
    SEED,
    ListenerServer,
    make_world,
    read_events,
    running_service,
)


@dataclass
class TinyWorld:
    dir: Path
    world: World


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> TinyWorld:
    directory = tmp_path_factory.mktemp("world")
    return TinyWorld(directory, make_world(directory))


@pytest.fixture(scope="module")
def service(tmp_path_factory, tiny, redis_server):
    """`botify serve` on the tiny world's catalog for the module's tests, each on its own users
    (the session's Redis, in a namespace no other test flushes); its log is `service.log_dir`."""
    directory = tmp_path_factory.mktemp("service")
    with running_service(directory, tiny.dir, redis_server.url, "listener") as (served, log_dir):
        served.log_dir = log_dir
        yield served


@pytest.fixture
def listener_for(tiny):
    """listener_for(service URL) -> ListenerServer on the tiny world; stopped after the test."""
    servers: list[ListenerServer] = []

    def start(url: str) -> ListenerServer:
        servers.append(ListenerServer(tiny.world, url))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def post(url: str, body: object) -> requests.Response:
    return requests.post(url, json=body, timeout=10)


def test_a_session_played_on_the_page_is_logged_as_the_simulator_sends_it(
    service, listener_for, tiny
):
    page = listener_for(service.url)
    user = 7
    started = post(f"{page.url}/sessions", {"user": user})
    assert started.status_code == 201, started.text
    session = started.json()
    first, playing = session["first"]["track"], session["playing"]["track"]
    # the first track is drawn as the simulator draws it: near one of the user's interests
    world = tiny.world
    k = world.users[user].interest_neighbours
    assert any(first in world.neighbours.nearest(i, k) for i in world.interests[user])
    assert session["playing"]["title"] == world.catalog.titles[playing]
    assert session["playing"]["genre"] == world.catalog.genres[playing]
    arm = arm_names(2)[bucket(user, ROUTING, 2)]
    assert session["routing"] == ROUTING and session["arms"][ROUTING] == arm

    sent = [(first, 1.0)]
    for time in (0.25, 0.0, 1.0):
        sent.append((playing, time))
        answer = post(f"{page.url}/sessions/{user}/next", {"time": time})
        assert answer.status_code == 200, answer.text
        playing = answer.json()["playing"]["track"]
    ended = post(f"{page.url}/sessions/{user}/last", {"time": 0.5})
    assert ended.status_code == 200, ended.text
    assert ended.json()["open"] is False
    sent.append((playing, 0.5))

    events = read_events(service.log_dir, user)
    assert [e["message"] for e in events] == ["next"] * 4 + ["last"]
    assert [(e["track"], e["time"]) for e in events] == sent
    # each answer is the track the next request says was played
    assert [e["recommendation"] for e in events[:4]] == [track for track, _ in sent[1:]]
    assert all(e["experiments"][ROUTING] == arm for e in events)
    counts = page.listener.counts
    assert (counts.started, counts.ended, counts.listens, counts.service_errors) == (1, 1, 4, 0)


def test_the_page_forms_play_a_session(service, listener_for):
    """The page's own path: form posts answered by redirects to the page to show."""
    page = listener_for(service.url)
    web = requests.Session()
    home = web.get(page.url + "/")
    assert home.status_code == 200 and 'name="user"' in home.text
    started = web.post(page.url + "/sessions", data={"user": "12"}, allow_redirects=False)
    assert started.status_code == 303 and started.headers["Location"].endswith("/sessions/12")
    shown = web.get(page.url + "/sessions/12")
    playing = page.listener.session(12).playing
    assert page.listener.describe(playing)["title"] in shown.text
    assert web.post(page.url + "/sessions/12/next", data={"time": "0.5"}).status_code == 200
    ended = web.post(page.url + "/sessions/12/last", data={"time": "0.25"})
    assert ended.status_code == 200 and "Session of user 12 ended after 2 tracks" in ended.text
    events = read_events(service.log_dir, 12)
    assert [(e["message"], e["user"], e["time"]) for e in events] == [
        ("next", 12, 1.0),
        ("next", 12, 0.5),
        ("last", 12, 0.25),
    ]


BAD_STARTS = [
    ({"user": "abc"}, 400, "user: must be a user id"),
    ({"user": True}, 400, "user: must be a user id"),
    ({"user": 2.5}, 400, "user: must be a user id"),
    ({"user": 60}, 400, "user: 60 is not a user of the simulated world (0..59)"),
    ({}, 400, "user: must be a user id, a whole number, got None"),
    ([3], 400, "body: expected a JSON object with 'user'"),
]
BAD_TIMES = [
    ({"time": 1.5}, "time: must be the listened fraction, from 0 to 1, got 1.5"),
    ({"time": -0.25}, "time: must be the listened fraction, from 0 to 1, got -0.25"),
    ({"time": "lots"}, "time: must be the listened fraction, a number from 0 to 1, got 'lots'"),
    ({"time": False}, "time: must be the listened fraction"),
    ({}, "time: missing"),
]


def test_bad_input_is_a_4xx_naming_it_and_reaches_nothing(service, listener_for):
    page = listener_for(service.url)
    for body, status, message in BAD_STARTS:
        answer = post(f"{page.url}/sessions", body)
        assert (answer.status_code, answer.json()["message"][: len(message)]) == (status, message)
    answer = post(f"{page.url}/sessions/abc/next", {"time": 0.5})
    assert answer.status_code == 400 and answer.json()["message"].startswith("user: ")
    answer = post(f"{page.url}/sessions/4/next", {"time": 0.5})
    assert answer.status_code == 404
    assert answer.json()["message"] == "user 4 has no session open on this page"

    assert post(f"{page.url}/sessions", {"user": 4}).status_code == 201
    playing = page.listener.session(4).playing
    for body, message in BAD_TIMES:
        for action in ("next", "last"):
            answer = post(f"{page.url}/sessions/4/{action}", body)
            assert answer.status_code == 400, (action, body)
            assert answer.json()["message"].startswith(message), (action, body)
    again = post(f"{page.url}/sessions", {"user": 4})
    assert again.status_code == 409 and "has a session open" in again.json()["message"]
    # a form with a bad user gets the page again, with the message and the same 4xx
    form = requests.post(f"{page.url}/sessions", data={"user": "7x"}, timeout=10)
    assert form.status_code == 400 and "user: must be a user id" in form.text
    assert "<html" in form.text
    # nothing of it reached the service: only the one good start's request is logged
    assert page.listener.session(4).playing == playing
    assert [(e["message"], e["time"]) for e in read_events(service.log_dir, 4)] == [("next", 1.0)]


def test_a_service_that_fails_is_named_on_the_page(tmp_path, tiny, redis_server, listener_for):
    # down from the start: nothing listens on the port
    nowhere = listener_for(f"http://127.0.0.1:{free_port()}")
    answer = post(f"{nowhere.url}/sessions", {"user": 1})
    assert answer.status_code == 502
    assert "the service does not answer (is it running?)" in answer.json()["message"]
    home = requests.get(nowhere.url + "/", timeout=10)
    assert home.status_code == 200 and "the service does not answer" in home.text
    assert "1 service error" in home.text and "1 service errors" not in home.text
    assert "Traceback" not in home.text

    running = running_service(tmp_path, tiny.dir, redis_server.url, "failing", loaded=False)
    with running as (service, _):
        # up but without data: the service's own 503 and message, passed on
        page = listener_for(service.url)
        answer = post(f"{page.url}/sessions", {"user": 1})
        assert answer.status_code == 502
        said = "/next/1 answered 503: no data version is loaded: run 'botify load'"
        assert said in answer.json()["message"]

        # down in the middle of a session: the same track still plays, ready for a retry
        client = connect(redis_server.url)
        load(load_config(tmp_path / "config.json"), client, grace=0)
        client.close()
        service.wait_healthy(timeout=30)
        assert post(f"{page.url}/sessions", {"user": 2}).status_code == 201
        playing = page.listener.session(2).playing
        assert service.stop() == 0
        answer = post(f"{page.url}/sessions/2/next", {"time": 1.0})
        assert answer.status_code == 502 and "does not answer" in answer.json()["message"]
        form = requests.post(f"{page.url}/sessions/2/next", data={"time": "1.0"}, timeout=10)
        assert form.status_code == 502 and "does not answer" in form.text
        assert page.listener.describe(playing)["title"] in form.text
        assert page.listener.session(2).playing == playing
        assert page.listener.counts.service_errors == 3


def test_a_service_on_another_worlds_catalog_is_named(service, tmp_path):
    other = ListenerServer(make_world(tmp_path / "other", seed=SEED + 1), service.url)
    try:
        home = requests.get(other.url + "/", timeout=10)
    finally:
        other.stop()
    assert home.status_code == 200
    assert "the service&#39;s catalog is not this world&#39;s: its track 0 is" in home.text


def test_botify_listen_is_a_command_that_names_its_bad_options(tmp_path, capsys):
    assert COMMANDS["listen"][0] == "lab.listener.main:main"
    with pytest.raises(SystemExit):
        main(["--service", "localhost:5001"])
    assert "not an http:// URL: 'localhost:5001'" in capsys.readouterr().err
    missing = tmp_path / "missing.yaml"
    assert main(["--service", "http://127.0.0.1:5001", "--sim-config", str(missing)]) == 1
    assert f"{missing}: no such config file" in capsys.readouterr().err


def test_botify_listen_serves_the_page_and_names_sessions_left_open(service, tmp_path, tiny):
    sim_config = tmp_path / "sim.yaml"
    sim_config.write_text(f"world:\n  dir: {tiny.dir}\n")
    port = free_port()
    command = [sys.executable, "-m", "lab", "listen", "--service", service.url]
    command += ["--port", str(port), "--sim-config", str(sim_config)]
    output = tmp_path / "listen.out"
    listen = Process(command, output)
    try:
        listen.wait_for(f"http://127.0.0.1:{port}/")
        assert post(f"http://127.0.0.1:{port}/sessions", {"user": 5}).status_code == 201
    finally:
        assert listen.stop() == 0
    said = output.read_text()
    assert f"playing 60 users of 400 tracks against {service.url}" in said
    assert "1 session left open (user 5): their /last was never sent" in said
    assert "1 session started, 0 ended, 0 tracks rated, 0 service errors" in said
