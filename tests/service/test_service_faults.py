"""The service under faults and hostile clients, as `botify serve` runs it (gunicorn): many
requests in flight, Redis emptied or frozen, a recommender that raises, bodies that lie about
their size, answers that must not leak Redis's internals."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests

from botify.config import load_config
from botify.loader import load
from botify.redis_server import RedisServer, free_port
from botify.store import connect
from tests.conftest import ROOT, small_dataset, write_broken_plugin, write_config

NO_REPEAT = [{"recommender": "contextual", "source": "i2i", "no_repeat": True}]


def config_for(tmp_path, redis_url, chain=NO_REPEAT, **values):
    return write_config(
        tmp_path,
        redis_url=redis_url,
        data=values.pop("data", None) or small_dataset(tmp_path / "data"),
        log_dir=str(tmp_path / "log"),
        experiments=[{"name": "EXP", "arms": {"C": chain}}],
        **values,
    )


@pytest.fixture
def serve_one(tmp_path, redis_url, start_service, load_data):
    """serve_one(**config values) -> `botify serve` with one worker on the small dataset."""

    def serve(**values):
        config = config_for(tmp_path, redis_url, **values)
        load_data(config)
        return start_service(config, workers=1)

    return serve


def logged(tmp_path) -> list[dict]:
    path = tmp_path / "log" / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


async def flood(port: int, connections: int, requests_each: int) -> dict[int, int]:
    """`connections` keep-alive connections at once, each POSTing /next `requests_each`
    times; the count of answers by status."""
    statuses: dict[int, int] = {}

    async def client(number: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for i in range(requests_each):
                body = json.dumps({"track": (number + i) % 100, "time": 0.5}).encode()
                writer.write(
                    f"POST /next/{number} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                    f"\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                await writer.drain()
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head.split(b" ", 2)[1])
                length = next(
                    int(line.split(b":")[1])
                    for line in head.lower().split(b"\r\n")
                    if line.startswith(b"content-length:")
                )
                await reader.readexactly(length)
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            writer.close()

    await asyncio.gather(*(client(n) for n in range(connections)))
    return statuses


def test_hundreds_of_requests_in_flight_in_one_worker_get_no_503(serve_one):
    service = serve_one()
    statuses = asyncio.run(flood(service.port, connections=400, requests_each=10))
    assert statuses == {200: 4000}


def test_an_emptied_and_reloaded_redis_serves_the_new_data_not_a_cached_copy(
    tmp_path, start_service
):
    port = free_port()
    redis_server = RedisServer(port=port).start()
    try:
        first = config_for(
            tmp_path, redis_server.url, chain=[{"recommender": "top_pop", "ranked": True}]
        )
        load(load_config(first), connect(redis_server.url))
        service = start_service(first, workers=2)
        body = {"track": 1, "time": 1.0}
        assert requests.post(f"{service.url}/next/1", json=body).json()["track"] == 0

        connect(redis_server.url).flushall()  # as an empty restart leaves it
        time.sleep(0.2)  # past version_check_seconds
        for path in ("/healthz", "/next/1"):
            answer = requests.request("GET" if path == "/healthz" else "POST", service.url + path,
                                      json=body)  # fmt: skip
            assert answer.status_code == 503
            assert answer.json()["message"] == "no data version is loaded: run 'botify load'"

        # The same number of loads into this Redis: before, the same version name as the copy
        # every worker still held.
        other = small_dataset(tmp_path / "other")
        (tmp_path / "other" / "top.json").write_text(json.dumps(list(range(99, -1, -1))))
        second = config_for(
            tmp_path,
            redis_server.url,
            chain=[{"recommender": "top_pop", "ranked": True}],
            data=other,
        )
        load(load_config(second), connect(redis_server.url))
        for user in range(20):  # every worker
            assert requests.post(f"{service.url}/next/{user}", json=body).json()["track"] == 99
    finally:
        redis_server.stop()


def test_a_recommender_that_raises_is_named_in_every_event_and_in_healthz(
    tmp_path, redis_url, start_service, load_data
):
    plugin = write_broken_plugin(tmp_path)
    config = config_for(tmp_path, redis_url, chain=[{"recommender": plugin}])
    load_data(config)
    env_path = os.environ.get("PYTHONPATH", "")
    os.environ["PYTHONPATH"] = f"{tmp_path}{os.pathsep}{env_path}"
    try:
        service = start_service(config, workers=1)
    finally:
        os.environ["PYTHONPATH"] = env_path
    for user in range(30):
        answer = requests.post(f"{service.url}/next/{user}", json={"track": 3, "time": 0.5})
        assert answer.status_code == 200
    health = requests.get(f"{service.url}/healthz").json()
    assert health["failed_links"] == {"C": {"broken_recs:Broken": 30}}
    service.stop()
    events = logged(tmp_path)
    assert len(events) == 30
    assert {e["recommender"] for e in events} == {"random"}
    assert all(e["failed"] == ["broken_recs:Broken"] for e in events)
    assert all(e["data_version"].startswith("1-") for e in events)


def raw_request(port: int, data: bytes, close_write: bool = False) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        if close_write:
            sock.shutdown(socket.SHUT_WR)  # the client gives up before the body is complete
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
            if b"\r\n\r\n" in answer and answer.endswith(b"}"):
                break
        return answer


def test_bodies_over_the_limit_or_short_of_their_length_are_refused(tmp_path, serve_one):
    service = serve_one()
    big = b'{"track": 1, "time": 0.5, "pad": "' + b"x" * 5000 + b'"}'
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(big[i : i + 1000]), big[i : i + 1000])
                      for i in range(0, len(big), 1000)) + b"0\r\n\r\n"  # fmt: skip
    chunked = raw_request(
        service.port,
        b"POST /next/1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        b"Connection: close\r\n\r\n" + chunks,
    )
    assert chunked.startswith(b"HTTP/1.1 413"), chunked[:200]
    assert b"above the limit of 4096 bytes" in chunked
    short = raw_request(
        service.port,
        b'POST /next/2 HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"track": 1, "time": 0.5}',
        close_write=True,
    )
    assert short.startswith(b"HTTP/1.1 400"), short[:200]
    assert b"25 bytes of the 100 that Content-Length announced" in short
    small = b'{"track": 1, "time": 0.5}'
    chunked_ok = raw_request(
        service.port,
        b"POST /next/3 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        b"Connection: close\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(small), small),
    )
    assert chunked_ok.startswith(b"HTTP/1.1 200"), chunked_ok[:200]
    service.stop()
    assert [e["user"] for e in logged(tmp_path)] == [3]  # nothing of the refused ones


def test_answers_name_what_failed_without_redis_internals(redis_url, serve_one):
    service = serve_one()
    # A key botify did not write: a data error, not an outage.
    client = connect(redis_url)
    client.set("botify:u:{7}:seen", "not a set")
    answer = requests.post(f"{service.url}/next/7", json={"track": 1, "time": 0.5})
    assert answer.status_code == 500
    assert answer.json() == {
        "message": "internal error: unexpected data in Redis (see the server log)"
    }
    wrong_method = requests.get(f"{service.url}/next/7")
    assert wrong_method.status_code == 405 and wrong_method.headers["Allow"]
    assert "POST" in wrong_method.headers["Allow"]
    assert "GET" not in wrong_method.headers["Allow"].replace("HEAD", "")


def test_a_dead_redis_answers_503_without_its_address(tmp_path, start_service):
    dead = f"redis://:hunter2@127.0.0.1:{free_port()}/0"
    config = config_for(tmp_path, dead, redis_timeout_seconds=0.3)
    service = start_service(config, workers=1)
    for answer in (
        requests.get(f"{service.url}/healthz"),
        requests.post(f"{service.url}/next/1", json={"track": 1, "time": 0.5}),
    ):
        assert answer.status_code == 503
        assert answer.json() == {"message": "Redis is unavailable"}
    loaded = subprocess.run(
        [sys.executable, "-m", "botify", "load", "--config", str(config)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert loaded.returncode == 1
    assert "hunter2" not in loaded.stderr and "redis://:***@127.0.0.1" in loaded.stderr


def test_a_frozen_redis_costs_one_timeout_not_two(tmp_path, start_service):
    redis_server = RedisServer(port=free_port()).start()
    try:
        config = config_for(tmp_path, redis_server.url, redis_timeout_seconds=1.0)
        load(load_config(config), connect(redis_server.url))
        service = start_service(config, workers=1)
        body = {"track": 1, "time": 0.5}
        assert requests.post(f"{service.url}/next/1", json=body).status_code == 200
        os.kill(redis_server.process.pid, signal.SIGSTOP)
        try:
            started = time.monotonic()
            answer = requests.post(f"{service.url}/next/2", json=body, timeout=10)
            waited = time.monotonic() - started
        finally:
            os.kill(redis_server.process.pid, signal.SIGCONT)
        assert answer.status_code == 503
        # One redis_timeout_seconds (1 s); a retry after the timeout would make it 2 s.
        assert waited < 1.8, waited
    finally:
        redis_server.stop()


def test_a_replica_starts_without_errors_in_a_home_it_cannot_write(tmp_path, redis_url, load_data):
    """As in the image, where the user's home (/app) is read-only: gunicorn's control socket
    is not wanted, and must not log an error at every start."""
    from lab.processes import ServeProcess

    config = config_for(tmp_path, redis_url)
    load_data(config)
    home = tmp_path / "home-is-a-file"
    home.write_text("")
    env = {**os.environ, "HOME": str(home)}
    env.pop("XDG_RUNTIME_DIR", None)
    service = ServeProcess(config, tmp_path / "serve.log", workers=1, env=env)
    try:
        service.wait_healthy(timeout=30)
        time.sleep(0.5)
    finally:
        service.stop()
    output = (tmp_path / "serve.log").read_text()
    assert "[ERROR]" not in output and "Traceback" not in output, output
