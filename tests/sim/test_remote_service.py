"""The remote agent against a real botify service (gunicorn workers, a real Redis), started by
the test on the small world's catalog."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sim.run import main
from tests.conftest import write_config

from .conftest import SMALL, botify_data, write_sim_config
from .output import errors

ROOT = Path(__file__).resolve().parents[2]


def read_events(log_dir: Path) -> list[dict]:
    events = []
    for path in sorted(log_dir.glob("events.jsonl*")):
        if path.suffix != ".lock":
            events += [json.loads(line) for line in path.read_text().splitlines()]
    return events


@pytest.fixture
def service(tmp_path, world_dir, redis_url, start_service, load_data):
    config = write_config(
        tmp_path,
        redis_url=redis_url,
        data=botify_data(world_dir),
        log_dir=str(tmp_path / "log"),
        experiments=[
            {"name": "EXP", "arms": {"C": ["sticky_artist"], "T1": [{"recommender": "random"}]}}
        ],
    )
    load_data(config)
    service = start_service(config)
    service.log_dir = tmp_path / "log"
    return service


@pytest.fixture
def quick_config(tmp_path, world_dir):
    return write_sim_config(
        tmp_path / "sim.yaml", world_dir, remote={"retries": 3, "backoff": 0.05}
    )


def test_sessions_against_botify_are_logged_as_sent(service, quick_config, tmp_path, capsys):
    out = tmp_path / "sessions.jsonl"
    args = ["--config", str(quick_config), "--episodes", "150", "--out", str(out), "single",
            "--recommender", "remote", "--url", service.url, "--seed", "4"]  # fmt: skip
    assert main(args) == 0
    assert "0 bad answers" in capsys.readouterr().out
    assert service.stop() == 0  # a graceful stop writes every queued event
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    events = read_events(service.log_dir)
    nexts = [e for e in events if e["message"] == "next"]
    lasts = [e for e in events if e["message"] == "last"]
    assert len(lasts) == len(rows) == 150
    assert len(nexts) == sum(r["length"] for r in rows)
    assert all(0 <= e["recommendation"] < SMALL.tracks for e in nexts)
    # per user, the logged time sums to the simulated session times (first tracks' 1.0 aside)
    logged: dict[int, float] = {}
    for e in events:
        logged[e["user"]] = logged.get(e["user"], 0.0) + e["time"]
    simulated: dict[int, float] = {}
    for r in rows:
        simulated[r["user"]] = simulated.get(r["user"], 0.0) + r["time"] + 1.0
    assert logged.keys() == simulated.keys()
    assert all(abs(logged[u] - simulated[u]) < 1e-6 for u in logged)


def test_service_that_dies_mid_run(service, quick_config):
    command = [sys.executable, "-m", "sim.run", "--config", str(quick_config), "--episodes",
               "100000", "single", "--recommender", "remote", "--url", service.url]  # fmt: skip
    sim = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)  # fmt: skip
    try:

        def completed_sessions() -> int:
            return sum(e["message"] == "last" for e in read_events(service.log_dir))

        # Until a session has ended (the log is written as requests are answered: its first
        # event comes before any session is complete).
        deadline = time.monotonic() + 60
        while not completed_sessions() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert completed_sessions(), "the simulator never ended a session on the service"
        # killed, not stopped: a graceful stop would go on serving open keep-alive connections
        # (gunicorn's workers notice their master is gone and exit)
        service.kill()
        started = time.monotonic()
        stdout, stderr = sim.communicate(timeout=120)
        print(f"the simulator stopped {time.monotonic() - started:.1f} s after the kill")
    finally:
        if sim.poll() is None:
            sim.kill()
    assert sim.returncode == 1
    stderr = errors(stderr)
    assert stderr.startswith(f"sim: the service at {service.url} is down: POST /")
    assert stderr.count("\n") == 1 and "Traceback" not in stderr
    completed = int(stdout.split("| 1 | ")[1].split(" |")[0])
    assert completed > 0  # the sessions done before it died are summarized
