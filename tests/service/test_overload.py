"""Overload is named as overload: a worker with more requests than CPU answers 503 "overloaded"
with Retry-After, counted in /healthz, never "Redis is unavailable" while Redis is up. A real
botify serve (one gevent worker), a recommender that takes 30 ms of CPU a request, 40 clients."""

from __future__ import annotations

import json
import threading
import time

import requests

from botify.recommenders import Recommender

CLIENTS = 40
SECONDS = 4.0


class Slow(Recommender):
    """30 ms of CPU a request, without yielding: a worker busy with others falls behind."""

    def candidates(self, user, prev_track, prev_track_time):
        until = time.perf_counter() + 0.03
        while time.perf_counter() < until:
            pass
        return [(prev_track + 1) % 100]


def test_an_overloaded_worker_says_overloaded_and_counts_it(served):
    service, log_dir = served(
        workers=1,
        worker_class="gevent",
        overload_lag_seconds=0.3,
        experiments=[{"name": "EXP", "arms": {"C": [{"recommender": f"{__name__}:Slow"}]}}],
    )
    answers: list[tuple[int, str, str | None]] = []
    until = time.monotonic() + SECONDS

    def client(number: int) -> None:
        session = requests.Session()
        sent = 0
        while time.monotonic() < until:
            sent += 1
            answer = session.post(
                f"{service.url}/next/{number}", json={"track": sent % 100, "time": 0.5}, timeout=60
            )
            message = answer.json().get("message", "")
            answers.append((answer.status_code, message, answer.headers.get("Retry-After")))

    clients = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in clients:
        thread.start()
    for thread in clients:
        thread.join()

    statuses = {status for status, _, _ in answers}
    refused = [(message, retry) for status, message, retry in answers if status != 200]
    assert statuses <= {200, 503}, statuses
    assert refused, "no request was answered overloaded"
    assert set(refused) == {("overloaded", "1")}  # never "Redis is unavailable"
    served = len(answers) - len(refused)
    assert served > 0
    health = requests.get(f"{service.url}/healthz", timeout=10).json()
    overload = health["overload"]
    assert overload["shed"] + overload["late_on_redis"] == len(refused)
    service.stop()  # every event written
    lines = (log_dir / "events.jsonl").read_text().splitlines()
    assert len(lines) == served  # the refused requests logged nothing
    assert all(json.loads(line)["message"] == "next" for line in lines)
