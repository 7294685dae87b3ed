"""The service as `botify serve` runs it (gunicorn, several workers), under concurrent load:
the event log, hot data swaps, and a Redis outage."""

import json
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from botify.config import load_config
from botify.redis_server import RedisServer, free_port
from tests.conftest import ROOT, small_dataset, write_config, write_lines


def hammer(url: str, users: range, threads: int = 8) -> list[tuple[int, int, dict | None]]:
    """POST /next once per user from `threads` keep-alive clients; (user, status, body)."""
    local = threading.local()

    def one(user: int):
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        try:
            answer = session.post(
                f"{url}/next/{user}", json={"track": user % 100, "time": 0.5}, timeout=10
            )
            return user, answer.status_code, answer.json()
        except requests.RequestException as error:
            return user, -1, {"error": str(error)}

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(one, users))


def read_log_lines(directory: Path) -> list[str]:
    lines = []
    for path in sorted(directory.glob("events.jsonl*")):
        if path.suffix != ".lock":
            lines += path.read_text().splitlines()
    return lines


def test_log_lines_parse_and_count_exactly_with_workers_and_rotation(served):
    service, log_dir = served(
        workers=3,
        log_max_bytes=30_000,
        log_backups=1000,
        experiments=[
            {
                "name": "EXP",
                "arms": {
                    "C": [{"recommender": "contextual", "source": "i2i"}],
                    "T1": ["sticky_artist"],
                },
            }
        ],
    )
    n = 3000
    results = hammer(service.url, range(n))
    assert [status for _, status, _ in results] == [200] * n
    assert service.stop() == 0  # SIGTERM: a graceful stop flushes what each worker queued
    files = [p for p in log_dir.glob("events.jsonl*") if p.suffix != ".lock"]
    assert len(files) > 5  # rotation happened, many times, under concurrent writers
    lines = read_log_lines(log_dir)
    events = [json.loads(line) for line in lines]  # every line parses: none cut or interleaved
    assert len(events) == n
    assert sorted(event["user"] for event in events) == list(range(n))  # none lost or repeated
    answered = {user: body["track"] for user, _, body in results}
    assert all(event["recommendation"] == answered[event["user"]] for event in events)


def test_hot_swap_under_load_fails_no_request(tmp_path, redis_url, start_service, load_data):
    data = small_dataset(tmp_path / "data")
    config_path = write_config(
        tmp_path,
        redis_url=redis_url,
        data=data,
        log_dir=str(tmp_path / "log"),
        swap_grace_seconds=0.5,
        experiments=[
            {
                "name": "EXP",
                "arms": {"C": [{"recommender": "contextual", "source": "i2i", "ranked": True}]},
            }
        ],
    )
    load_data(config_path)
    service = start_service(config_path, workers=2)
    stop = threading.Event()
    results: list[tuple[int, int, dict | None]] = []

    def traffic():
        batch = 0
        while not stop.is_set():
            results.extend(hammer(service.url, range(batch * 200, batch * 200 + 200), threads=4))
            batch += 1

    runner = threading.Thread(target=traffic)
    runner.start()
    try:
        for shift in (2, 3):  # new item lists: track t -> t + shift first
            write_lines(
                Path(data["item_recommendations"]["i2i"]),
                (
                    {
                        "track": t,
                        "recommendations": [(t + k) % 100 for k in range(shift, shift + 5)],
                    }
                    for t in range(100)
                ),
            )
            loaded = subprocess.run(
                [sys.executable, "-m", "botify", "load", "--config", str(config_path)],
                cwd=ROOT,
                capture_output=True,
                text=True,
            )
            assert loaded.returncode == 0, loaded.stderr
    finally:
        stop.set()
        runner.join()
    statuses = [status for _, status, _ in results]
    assert len(statuses) > 400 and set(statuses) == {200}
    after = requests.post(f"{service.url}/next/1", json={"track": 10, "time": 1.0}).json()
    assert after["track"] == 13  # the last version is served, without a restart
    assert requests.get(f"{service.url}/healthz").json()["version"].startswith("3-")


def test_redis_outage_is_503_fast_and_the_service_recovers(tmp_path, start_service):
    port = free_port()
    redis_server = RedisServer(port=port).start()
    try:
        config_path = write_config(
            tmp_path,
            redis_url=redis_server.url,
            data=small_dataset(tmp_path / "data"),
            log_dir=str(tmp_path / "log"),
            redis_timeout_seconds=0.3,
            experiments=[{"name": "EXP", "arms": {"C": ["sticky_artist"]}}],
        )
        from botify.loader import load
        from botify.store import connect

        load(load_config(config_path), connect(redis_server.url))
        service = start_service(config_path, workers=2)
        body = {"track": 1, "time": 1.0}
        assert requests.post(f"{service.url}/next/1", json=body).status_code == 200

        redis_server.stop()
        time.sleep(0.2)  # a process may answer from memory for version_check_seconds (0.1)
        for _ in range(3):  # a hang would raise requests' Timeout
            health = requests.get(f"{service.url}/healthz", timeout=5)
            assert health.status_code == 503 and "Redis" in health.json()["message"]
            answer = requests.post(f"{service.url}/next/1", json=body, timeout=5)
            assert answer.status_code == 503 and "Redis" in answer.json()["message"]

        redis_server = RedisServer(port=port).start()  # back, empty: load again
        assert requests.get(f"{service.url}/healthz", timeout=5).status_code == 503
        load(load_config(config_path), connect(redis_server.url))
        assert requests.get(f"{service.url}/healthz", timeout=5).status_code == 200
        for user in range(10):  # every worker reconnects by itself
            assert requests.post(f"{service.url}/next/{user}", json=body).status_code == 200
    finally:
        redis_server.stop()
    service.stop()
    events = [json.loads(line) for line in read_log_lines(tmp_path / "log")]
    assert len(events) == 11  # only the accepted requests


def test_hup_reloads_the_config_without_a_restart(tmp_path, redis_url, start_service, load_data):
    import os
    import signal

    from lab.experiment import wait_for_routing

    data = small_dataset(tmp_path / "data")

    def config(experiment: str):
        return write_config(
            tmp_path,
            redis_url=redis_url,
            data=data,
            log_dir=str(tmp_path / "log"),
            experiments=[{"name": experiment, "arms": {"C": ["sticky_artist"]}}],
        )

    load_data(config("DAY1"))
    service = start_service(config("DAY1"), workers=2)
    assert requests.get(f"{service.url}/experiments").json()["routing"] == "DAY1"
    config("DAY2")
    os.kill(service.pid, signal.SIGHUP)
    wait_for_routing(service.url, "DAY2")
    answer = requests.post(f"{service.url}/next/1", json={"track": 1, "time": 1.0})
    assert answer.status_code == 200
    assert requests.get(f"{service.url}/experiments").json()["routing"] == "DAY2"
    assert service.running()  # the same master, still serving
