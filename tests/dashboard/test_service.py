"""`botify dashboard --service URL` beside a real `botify serve` (gunicorn, one worker, a real
Redis): the page reads the service's log as it writes it and shows its /healthz, whose count of
events written is the count the page read; a stopped service is said unreachable."""

from __future__ import annotations

from pathlib import Path

import requests

from lab.dashboard.judge import Judging
from lab.dashboard.source import resolve
from lab.dashboard.state import Dashboard
from tests.conftest import small_dataset, write_config

EXPERIMENT = {
    "name": "EXP",
    "arms": {"C": [{"recommender": "top_pop"}], "T1": [{"recommender": "random"}]},
}


def test_the_page_shows_the_service_and_reads_what_it_logs(
    tmp_path: Path, redis_url: str, start_service, load_data
) -> None:
    log_dir = tmp_path / "log"
    config = write_config(
        tmp_path,
        redis_url=redis_url,
        log_dir=str(log_dir),
        data=small_dataset(tmp_path / "data"),
        experiments=[EXPERIMENT],
    )
    load_data(config)
    service = start_service(config, workers=1)
    for user in range(40):  # one session of three tracks each
        track = user % 10
        for _ in range(2):
            # No answer kept: its open connection would hold the service's graceful stop 10 s.
            track = requests.post(
                f"{service.url}/next/{user}", json={"track": track, "time": 0.7}, timeout=10
            ).json()["track"]
        requests.post(f"{service.url}/last/{user}", json={"track": track, "time": 0.4}, timeout=10)

    dashboard = Dashboard(
        resolve([str(log_dir)]),
        Judging(),
        service=service.url,
        config=str(config),
        refresh_seconds=0,
    )
    state = dashboard.state()
    health = state["service"]
    assert health["status"] == "ok" and health["http_status"] == 200
    assert health["health"]["log"]["written"] == state["reading"]["events"] == 120
    assert [arm["arm"] for arm in state["arms"]] == ["C", "T1"]
    assert sum(arm["sessions"] for arm in state["arms"]) == 40
    assert state["serving"]["fallback_answers"] == 0  # each arm's own link answered

    service.stop()
    stopped = dashboard.state()["service"]
    assert stopped["status"] == "unreachable"
    assert stopped["message"].startswith(f"{service.url}/healthz: ")
