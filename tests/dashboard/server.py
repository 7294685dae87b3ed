"""The dashboard served for tests over real HTTP: as the `botify dashboard` command (a process),
or its app on a server thread in the test's process (cheaper, for the JSON API's tests)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import requests
from werkzeug.serving import make_server

from botify.redis_server import free_port
from lab.dashboard.app import create_app
from lab.dashboard.state import Dashboard
from tests.conftest import ROOT

START_DEADLINE = 60.0  # seconds for the command to answer: imports on a busy machine


@contextmanager
def served(dashboard: Dashboard) -> Iterator[str]:
    """`dashboard`'s app on a real HTTP server on a free port; yields its URL."""
    server = make_server("127.0.0.1", 0, create_app(dashboard), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class DashboardCommand:
    """`botify dashboard PATH... OPTIONS` as a user runs it, on a free port."""

    def __init__(self, *arguments: str, refresh: float = 0.3) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, "-m", "lab", "dashboard", *arguments]
        command += ["--port", str(self.port), "--refresh", str(refresh)]
        self.process = subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        deadline = time.monotonic() + START_DEADLINE
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                _, errors = self.process.communicate()
                raise AssertionError(f"botify dashboard stopped: {errors}")
            try:
                if requests.get(f"{self.url}/api/state", timeout=5).ok:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        self.stop()
        raise AssertionError(f"botify dashboard did not answer on {self.url}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
