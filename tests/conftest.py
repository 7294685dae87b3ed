"""Shared fixtures: a real Redis server and a real Redis Cluster for the whole session, small
data files on disk, and a real botify service (gunicorn, as `botify serve` runs it) started on
demand.

`redis_url` is the single server's, or the cluster's where a test is parametrized by
`topology` (tests/service runs every test that uses Redis on both)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from botify.redis_server import LocalCluster, RedisServer, free_port
from lab.processes import Processes, ServeProcess

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def redis_server():
    with RedisServer(port=free_port()) as server:
        yield server


@pytest.fixture(scope="session")
def redis_cluster():
    """Three masters with a replica each, on loopback."""
    with LocalCluster(masters=3, replicas=1) as cluster:
        yield cluster


TOPOLOGIES = ("single", "cluster")


@pytest.fixture
def topology(request) -> str:
    """ "single" unless the test is parametrized over TOPOLOGIES."""
    return getattr(request, "param", "single")


@pytest.fixture
def redis_url(request, topology):
    """The session's Redis (or Redis Cluster), emptied for each test."""
    if topology == "cluster":
        cluster = request.getfixturevalue("redis_cluster")
        cluster.flush()
        return cluster.url
    server = request.getfixturevalue("redis_server")
    client = redis.Redis.from_url(server.url)
    client.flushdb()
    client.close()
    return server.url


def run_module(module: str, *args: str) -> subprocess.CompletedProcess:
    """`python -m module args...` from the repository's root, its output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True, text=True
    )


BROKEN_PLUGIN = """
import numpy as np

class Broken:
    def __init__(self, data):
        self.data = data

    def recommend_next(self, user, prev_track, prev_track_time):
        tracks = np.array([1, 2])
        if not tracks:  # a numpy idiom ported wrong: raises on every request
            return None
"""


def write_broken_plugin(directory: Path) -> str:
    """A user's recommender module `broken_recs` that raises on every request; its import path."""
    (directory / "broken_recs.py").write_text(BROKEN_PLUGIN)
    return "broken_recs:Broken"


def write_lines(path: Path, records) -> Path:
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


def small_dataset(directory: Path, n_tracks: int = 100, n_users: int = 20) -> dict:
    """A catalog of `n_tracks` (artist k has tracks 5k..5k+4), item lists (track t -> t+1, t+2,
    ... t+5 mod n), per-user lists (user u -> u, u+1, ... u+9), and a top chart (0, 1, 2, ...).
    Returns the config's "data" section."""
    directory.mkdir(parents=True, exist_ok=True)
    write_lines(
        directory / "tracks.json",
        ({"track": t, "artist": f"artist {t // 5}", "title": f"song {t}"} for t in range(n_tracks)),
    )
    write_lines(
        directory / "i2i.json",
        (
            {"track": t, "recommendations": [(t + k) % n_tracks for k in range(1, 6)]}
            for t in range(n_tracks)
        ),
    )
    write_lines(
        directory / "ub.json",
        ({"user": u, "tracks": [(u + k) % n_tracks for k in range(10)]} for u in range(n_users)),
    )
    (directory / "top.json").write_text(json.dumps(list(range(n_tracks))))
    return {
        "catalog": str(directory / "tracks.json"),
        "top_tracks": str(directory / "top.json"),
        "item_recommendations": {"i2i": str(directory / "i2i.json")},
        "user_recommendations": {"ub": str(directory / "ub.json")},
    }


def write_config(directory: Path, **values) -> Path:
    path = directory / "config.json"
    path.write_text(json.dumps(values, indent=1))
    return path


@pytest.fixture
def start_service(tmp_path):
    """start_service(config_path, workers=2) -> ServeProcess, up and answering; stopped after."""
    with Processes() as started:

        def start(
            config_path: Path, workers: int = 2, worker_class: str | None = None
        ) -> ServeProcess:
            log = tmp_path / f"serve-{len(started.started)}.log"
            service = started.add(
                ServeProcess(config_path, log, workers=workers, worker_class=worker_class)
            )
            service.wait_listening(timeout=30)
            return service

        yield start


@pytest.fixture
def load_data(redis_url):
    """load_data(config_path) -> the live version number, loaded by `botify load`."""

    def load(config_path: Path) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "botify", "load", "--config", str(config_path)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env={**os.environ},
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    return load
