"""Starting and stopping the lab's server processes: `botify serve` (and any other command, such as
nginx or a container's entry point) for lab/, bench/ and the tests alike. Redis is
botify.redis_server's `RedisServer`, which `botify serve` itself uses for its embedded Redis.

Each process runs in its own session, so a Ctrl-C at the terminal reaches only the lab, which
then stops its children in order: gracefully first (a graceful stop of `botify serve` writes
every queued event), killed if they do not stop in time.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

import requests

from botify.redis_server import free_port

ROOT = Path(__file__).resolve().parent.parent


class ProcessFailed(RuntimeError):
    """A process exited or did not answer in time; the message ends with its last output."""


class Process:
    """A child process with its output (stdout and stderr) in `log`, or discarded."""

    def __init__(
        self,
        command: Sequence[str],
        log: Path | None = None,
        *,
        stop_signal: int = signal.SIGTERM,
        cwd: Path = ROOT,
        env: dict[str, str] | None = None,
    ):
        self.command = list(command)
        self.log = log
        self.stop_signal = stop_signal
        output = open(log, "wb") if log is not None else subprocess.DEVNULL
        try:
            self.popen = subprocess.Popen(
                self.command,
                cwd=cwd,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            if log is not None:
                output.close()  # type: ignore[union-attr]

    @property
    def pid(self) -> int:
        return self.popen.pid

    def running(self) -> bool:
        return self.popen.poll() is None

    def output(self, lines: int = 20) -> str:
        """The last lines of the process's output."""
        if self.log is None:
            return "(output discarded)"
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no output)"

    def wait_for(self, url: str, ok: Sequence[int] | None = (200,), timeout: float = 60.0) -> float:
        """Seconds until `url` answers with a status in `ok` (None: any answer at all)."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if not self.running():
                raise ProcessFailed(
                    f"{self.command[0]} exited ({self.popen.returncode}):\n{self.output()}"
                )
            try:
                status = requests.get(url, timeout=2).status_code
                if ok is None or status in ok:
                    return time.monotonic() - started
            except requests.RequestException:  # not listening yet, or too busy starting
                pass
            time.sleep(0.05)
        raise ProcessFailed(f"{url} did not answer in {timeout:.0f} s:\n{self.output()}")

    def signal(self, signum: int) -> None:
        self.popen.send_signal(signum)

    def kill(self) -> None:
        """SIGKILL to the process alone (its children notice, as after a crash)."""
        self.popen.kill()

    def stop(self, timeout: float = 30.0) -> int:
        """Stop gracefully, or kill the whole process group after `timeout`; the exit code."""
        if self.running():
            self.popen.send_signal(self.stop_signal)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
        return self.popen.returncode


def serve_command(
    config: Path, port: int, workers: int = 2, worker_class: str | None = None
) -> list[str]:
    command = [sys.executable, "-m", "botify", "serve", "--config", str(config)]
    command += ["--port", str(port), "--workers", str(workers)]
    if worker_class:
        command += ["--worker-class", worker_class]
    return command


class ServeProcess(Process):
    """`botify serve` (gunicorn with its workers) on a free port of 127.0.0.1."""

    def __init__(
        self,
        config: Path,
        log: Path | None = None,
        *,
        workers: int = 2,
        worker_class: str | None = None,
        port: int | None = None,
        env: dict[str, str] | None = None,
    ):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        super().__init__(serve_command(config, self.port, workers, worker_class), log, env=env)

    def wait_healthy(self, timeout: float = 60.0) -> float:
        """Seconds until /healthz says ok: Redis answers and a data version is loaded."""
        return self.wait_for(self.url + "/healthz", timeout=timeout)

    def wait_listening(self, timeout: float = 60.0) -> float:
        """Seconds until the service answers at all (with or without data)."""
        return self.wait_for(self.url + "/", ok=None, timeout=timeout)

    def reload(self) -> None:
        """A graceful reload: new workers read the config file again (SIGHUP to gunicorn)."""
        self.signal(signal.SIGHUP)


P = TypeVar("P", bound=Process)


class Processes:
    """Processes started together, stopped in reverse order of start (also on an error)."""

    def __init__(self) -> None:
        self.started: list[Process] = []

    def add(self, process: P) -> P:
        self.started.append(process)
        return process

    def stop_all(self) -> None:
        for process in reversed(self.started):
            try:
                process.stop()
            except OSError as error:
                print(f"warning: stopping {process.command[0]}: {error}", file=sys.stderr)
        self.started.clear()

    def __enter__(self) -> Processes:
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop_all()
