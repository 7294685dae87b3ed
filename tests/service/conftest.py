"""Fixtures for the service's tests: data loaded into the real Redis, and the Flask app served
over real HTTP (werkzeug's threaded server in this process, so tests can read its event log).

Every test here that uses `redis_url` runs twice: on one Redis server and on a Redis Cluster;
`@pytest.mark.one_redis` keeps a test that is about the single server's client to that one."""

from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from botify.app import create_app
from botify.config import load_config
from botify.data import DataView
from botify.loader import load
from botify.redis_server import free_port
from botify.store import RedisStore, connect
from tests.conftest import TOPOLOGIES, small_dataset, write_config


def pytest_generate_tests(metafunc):
    if "redis_url" in metafunc.fixturenames and not metafunc.definition.get_closest_marker(
        "one_redis"
    ):
        metafunc.parametrize("topology", TOPOLOGIES, indirect=True)


CHAIN_CONTEXTUAL = [{"recommender": "contextual", "source": "i2i"}]


@pytest.fixture
def data_section(tmp_path):
    return small_dataset(tmp_path / "data")


@pytest.fixture
def make_config(tmp_path, redis_url, data_section):
    """make_config(**values) -> a Config on the test Redis with the small dataset."""

    def make(**values):
        values.setdefault("redis_url", redis_url)
        values.setdefault("data", data_section)
        values.setdefault("log_dir", str(tmp_path / "log"))
        values.setdefault("experiments", [{"name": "EXP", "arms": {"C": CHAIN_CONTEXTUAL}}])
        return load_config(write_config(tmp_path, **values))

    return make


@pytest.fixture
def loaded(make_config):
    """loaded(**config values) -> (config, DataView on Redis) with the data loaded."""

    def make(**values):
        config = make_config(**values)
        client = connect(config["redis_url"])
        load(config, client, grace=0)
        store = RedisStore(client, namespace=config["namespace"], version_check_seconds=0)
        return config, DataView(store)

    return make


class AppServer:
    def __init__(self, app):
        self.app = app
        self.service = app.extensions["botify"]
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = make_server("127.0.0.1", self.port, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def events(self) -> list[dict]:
        import json

        self.service.events.flush()
        path = self.service.events.path
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines()]

    def stop(self):
        self.server.shutdown()
        self.service.events.close()


@pytest.fixture
def serve_app():
    """serve_app(config) -> AppServer over real HTTP; the data must be loaded first."""
    servers = []

    def serve(config):
        server = AppServer(create_app(config))
        servers.append(server)
        return server

    yield serve
    for server in servers:
        server.stop()


@pytest.fixture
def served(tmp_path, redis_url, start_service, load_data):
    """served(workers=2, worker_class=None, **config values) -> (ServeProcess, log folder):
    `botify serve` (real gunicorn) on the small dataset, loaded, logging to tmp_path/log."""

    def serve(workers: int = 2, worker_class: str | None = None, **values):
        log_dir = tmp_path / "log"
        values.setdefault("data", small_dataset(tmp_path / "data"))
        config_path = write_config(tmp_path, redis_url=redis_url, log_dir=str(log_dir), **values)
        load_data(config_path)
        return start_service(config_path, workers=workers, worker_class=worker_class), log_dir

    return serve
