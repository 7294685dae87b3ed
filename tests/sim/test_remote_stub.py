"""The remote agent's protocol and error paths, against a scripted stand-in for the service
(tests/sim/test_remote_service.py runs it against the real botify)."""

from __future__ import annotations

import json
from collections import defaultdict

import pytest

from sim.run import main

from .conftest import SMALL, write_sim_config
from .output import errors
from .stub_service import Behaviour, StubService


@pytest.fixture
def quick_config(tmp_path, world_dir):
    """Few retries with short waits, so a dead service is declared dead fast."""
    return write_sim_config(
        tmp_path / "sim.yaml", world_dir, remote={"retries": 2, "backoff": 0.01, "max_errors": 5}
    )


def run_remote(config, url, *args):
    return main(["--config", str(config), "--episodes", "120", "single", "--recommender",
                 "remote", "--url", url, *args])  # fmt: skip


def sessions_by_user(requests):
    """Each user's sessions as lists of (kind, body), in the order the service saw them."""
    per_user: dict[int, list[list]] = defaultdict(lambda: [[]])
    for kind, user, body in requests:
        per_user[user][-1].append((kind, body))
        if kind == "last":
            per_user[user].append([])
    return {user: [s for s in sessions if s] for user, sessions in per_user.items()}


def test_protocol_and_one_users_steps_in_order(quick_config, tmp_path):
    out = tmp_path / "s.jsonl"
    with StubService(Behaviour(SMALL.tracks)) as stub:
        assert (
            run_remote(quick_config, stub.url, "--out", str(out), "--sessions-in-flight", "16") == 0
        )
        requests = stub.behaviour.requests
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert sum(kind == "last" for kind, _, _ in requests) == len(rows) == 120
    assert sum(kind == "next" for kind, _, _ in requests) == sum(r["length"] for r in rows)
    for user, sessions in sessions_by_user(requests).items():
        for session in sessions:
            kinds = [kind for kind, _ in session]
            assert kinds == ["next"] * (len(kinds) - 1) + ["last"]
            assert session[0][1]["time"] == 1.0  # the first track, listened fully
            # each request carries the track the service answered to the one before: the
            # user's steps arrived in order, never interleaved with another of their sessions
            for (_, before), (_, after) in zip(session, session[1:], strict=False):
                assert after["track"] == (user * 7919 + before["track"] * 31) % SMALL.tracks
                assert 0.0 <= after["time"] <= 1.0


def test_sessions_do_not_depend_on_how_many_are_in_flight(quick_config, tmp_path):
    outputs = []
    for in_flight in ("1", "32"):
        out = tmp_path / f"{in_flight}.jsonl"
        with StubService(Behaviour(SMALL.tracks)) as stub:
            args = ("--out", str(out), "--sessions-in-flight", in_flight)
            assert run_remote(quick_config, stub.url, *args) == 0
        outputs.append(out.read_text())
    assert outputs[0] == outputs[1]


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("500", 'answered 500 \'{"message": "boom"}\''),
        ("garbage", "answered '{not json', not {user, track}"),
        ("outside", f"answered track {SMALL.tracks + 5}, not in the catalog"),
        ("not-http", "answered garbage (not an HTTP answer"),
    ],
)
def test_bad_answers_are_counted_and_stop_the_run(quick_config, capsys, mode, message):
    with StubService(Behaviour(SMALL.tracks, mode=mode, after=30)) as stub:
        assert run_remote(quick_config, stub.url) == 1
    captured = capsys.readouterr()
    assert "5 bad answers" in captured.out  # the summary's count
    err = errors(captured.err)
    assert err.startswith("sim: stopping after 5 bad answers from http://127.0.0.1:")
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_a_few_bad_answers_are_reported_at_the_end(tmp_path, world_dir, capsys):
    config = write_sim_config(tmp_path / "sim.yaml", world_dir, remote={"max_errors": 1000})
    with StubService(Behaviour(SMALL.tracks, mode="outside", after=300)) as stub:
        assert run_remote(config, stub.url, "--sessions-in-flight", "1") == 1
        nexts = stub.behaviour.nexts
    captured = capsys.readouterr()
    bad = nexts - 300  # every /next after the 300th answered a track outside the catalog
    assert bad > 0 and "cut short" in captured.out
    assert f"{bad} bad answers" in captured.out
    assert errors(captured.err).startswith(
        f"sim: {bad} bad answers from the service; first: POST /next/"
    )


@pytest.mark.parametrize("mode", ["close-once", "503-once"])
def test_a_dropped_connection_or_a_503_is_retried(quick_config, capsys, mode):
    with StubService(Behaviour(SMALL.tracks, mode=mode, after=50)) as stub:
        assert run_remote(quick_config, stub.url) == 0
    out = capsys.readouterr().out
    assert "| 1 | 120 |" in out and " 1 retries" in out and " 0 bad answers" in out


def test_a_service_answering_503_is_down(quick_config, capsys):
    with StubService(Behaviour(SMALL.tracks, mode="503", after=10)) as stub:
        assert run_remote(quick_config, stub.url) == 1
    err = errors(capsys.readouterr().err)
    assert "is down: POST /next/" in err and 'answered 503 \'{"message": "redis is down"}\'' in err
    assert "(3 attempts)" in err and err.count("\n") == 1


def test_service_down_from_the_start(quick_config, capsys):
    with StubService(Behaviour(SMALL.tracks)) as stub:
        url = stub.url
    assert run_remote(quick_config, url) == 1  # nothing listens there any more
    err = errors(capsys.readouterr().err)
    assert err.startswith(f"sim: the service at {url} is down: POST /next/")
    assert "(3 attempts)" in err and err.count("\n") == 1 and "Traceback" not in err


def test_service_dies_mid_run(quick_config, capsys):
    with StubService(Behaviour(SMALL.tracks, mode="die", after=200)) as stub:
        assert run_remote(quick_config, stub.url, "--sessions-in-flight", "8") == 1
    captured = capsys.readouterr()
    err = errors(captured.err)
    assert "is down" in err and err.count("\n") == 1 and "Traceback" not in err
    completed = int(captured.out.split("| 1 | ")[1].split(" |")[0])
    assert 0 < completed < 120  # the sessions completed before it died are summarized


def test_multi_process_remote_gives_the_same_sessions(quick_config, tmp_path):
    outputs = []
    for mode in (["single"], ["multi", "--processes", "2"]):
        out = tmp_path / f"{mode[0]}.jsonl"
        with StubService(Behaviour(SMALL.tracks)) as stub:
            assert main(["--config", str(quick_config), "--episodes", "120", "--out", str(out),
                         *mode, "--recommender", "remote", "--url", stub.url]) == 0  # fmt: skip
        outputs.append(out.read_text())
    assert outputs[0] == outputs[1]
