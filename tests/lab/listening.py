"""What the listener page's tests share (tests/lab/test_listener.py and tests/browser/):
a tiny generated world on disk, a real `botify serve` config on its catalog with an A/B and an A/A
experiment, the listener's app under a real HTTP server, and the service's event log read back."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from werkzeug.serving import make_server

from botify.config import load_config
from botify.loader import load
from botify.redis_server import free_port
from botify.store import connect
from lab.listener.app import create_app
from lab.listener.service_client import ServiceClient
from lab.listener.sessions import Listener
from lab.processes import Processes, ServeProcess
from sim.config import UserDefaults
from sim.world import World, load_world
from sim.worldfiles import WorldPaths, write_world
from sim.worldgen import WorldSpec, generate
from tests.conftest import write_config

# generated in a fraction of a second; enough users that two people land in both arms
TINY = WorldSpec(tracks=400, artists=80, users=60, genres=4, dim=16)
SEED = 3
ROUTING = "BY_HAND"


def make_world(directory: Path, seed: int = SEED) -> World:
    write_world(generate(TINY, seed), directory)
    return load_world(WorldPaths.in_dir(directory), UserDefaults())


def service_config(directory: Path, world_dir: Path, redis_url: str, **values) -> tuple[Path, Path]:
    """(config path, log folder) of a service on the world's catalog and chart."""
    directory.mkdir(parents=True, exist_ok=True)
    log_dir = directory / "log"
    config = write_config(
        directory,
        redis_url=redis_url,
        data={
            "catalog": str(world_dir / "tracks.json"),
            "top_tracks": str(world_dir / "top_tracks.json"),
            "item_recommendations": {},
            "user_recommendations": {},
        },
        log_dir=str(log_dir),
        routing_experiment=ROUTING,
        experiments=[
            {"name": ROUTING, "arms": {"C": ["sticky_artist"], "T1": [{"recommender": "random"}]}},
            {"name": "AA", "arms": 2},
        ],
        **values,
    )
    return config, log_dir


@contextmanager
def running_service(
    directory: Path, world_dir: Path, redis_url: str, namespace: str, loaded: bool = True
) -> Iterator[tuple[ServeProcess, Path]]:
    """(`botify serve` with one worker, its log folder) on the world's catalog, in its own
    namespace of the Redis at `redis_url` (so that it can outlive one test's Redis), with the
    data loaded unless `loaded` is False."""
    config, log_dir = service_config(directory, world_dir, redis_url, namespace=namespace)
    if loaded:
        client = connect(redis_url)
        load(load_config(config), client, grace=0)
        client.close()
    with Processes() as started:
        service = started.add(ServeProcess(config, directory / "serve.log", workers=1))
        service.wait_listening(timeout=30)
        yield service, log_dir


def read_events(log_dir: Path, user: int | None = None) -> list[dict]:
    """The service's logged events (of `user` alone, when given), in the log's order."""
    path = log_dir / "events.jsonl"
    if not path.exists():
        return []
    events = [json.loads(line) for line in path.read_text().splitlines()]
    return [event for event in events if user is None or event["user"] == user]


class ListenerServer:
    """The listener's Flask app on a free port of 127.0.0.1 (werkzeug's threaded server, as
    `botify listen` runs it), in this process so that tests can look at its counts."""

    def __init__(self, world: World, service_url: str, seed: int = 0) -> None:
        self.listener = Listener(world, ServiceClient(service_url, timeout=5.0), seed)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = make_server("127.0.0.1", self.port, create_app(self.listener), threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
