"""Answered means written: a gunicorn worker killed hard (SIGKILL, as the OOM killer does) under
load loses no event of a request it had answered. A real botify serve, real clients, real
kills: every 200 a client saw is a line of the log."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import requests

from tests.conftest import small_dataset

KILLS = 10
CLIENTS = 8


def worker_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(pid) for pid in children]


def gunicorn_master(serve_pid: int) -> int:
    """botify serve runs gunicorn in its own process (or is it): the process whose children
    are the workers."""
    pids = worker_pids(serve_pid)
    for pid in pids:
        if "gunicorn" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"):
            return pid
    return serve_pid


def test_a_worker_killed_hard_loses_no_answered_event(tmp_path, served):
    service, log_dir = served(
        data=small_dataset(tmp_path / "data", n_tracks=100, n_users=1000),
        experiments=[{"name": "EXP", "arms": {"C": [{"recommender": "random"}]}}],
    )
    master = gunicorn_master(service.pid)
    answered: list[tuple[int, int, float]] = []
    stop = threading.Event()

    def client(number: int) -> None:
        session = requests.Session()
        sent = 0
        while not stop.is_set():
            sent += 1
            # (user, track, time) tells every request apart: time is unique.
            unique = number * 100_000 + sent
            user, listened = unique % 1000, unique / 1e7
            try:
                answer = session.post(
                    f"{service.url}/next/{user}",
                    json={"track": unique % 100, "time": listened},
                    timeout=5,
                )
            except requests.RequestException:
                session = requests.Session()  # the killed worker's connection
                continue
            if answer.status_code == 200:
                answered.append((user, unique % 100, round(listened, 7)))

    clients = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in clients:
        thread.start()
    killed = 0
    try:
        deadline = time.monotonic() + 120
        # The kills, then traffic until enough answers to judge (a loaded machine answers fewer
        # in the kills' 4 s).
        while (killed < KILLS or len(answered) <= 1000) and time.monotonic() < deadline:
            time.sleep(0.4)  # a worker (a fresh one too) under load
            workers = worker_pids(master)
            if killed == KILLS or len(workers) < 2:
                continue
            os.kill(workers[killed % len(workers)], signal.SIGKILL)
            killed += 1
    finally:
        stop.set()
        for thread in clients:
            thread.join()
    assert killed == KILLS
    service.stop()
    logged = {
        (event["user"], event["track"], round(event["time"], 7))
        for path in sorted(log_dir.glob("events.jsonl*"))
        for event in map(json.loads, path.read_text().splitlines())
    }
    missing = [key for key in answered if key not in logged]
    assert len(answered) > 1000
    assert missing == [], f"{len(missing)} of {len(answered)} answered events not in the log"
