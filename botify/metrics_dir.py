"""The folder where botify serve's workers keep their metrics (prometheus_client's multiprocess
mode, PROMETHEUS_MULTIPROC_DIR): set up before anything imports prometheus_client, and cleaned.

With PROMETHEUS_MULTIPROC_DIR given, that folder is used (made if missing) and the value files
a previous run left in it are deleted first: their counts are not this run's (the library's
rule: wipe the folder between runs). Only files named as the library names its own are touched,
so give each botify serve a folder of its own. Without it, a fresh temporary folder is made and
deleted when botify serve stops.

A worker that exits (reload, crash, kill) leaves its files: its counters stay in every sum,
which is what makes a scrape lose nothing; `worker_exited` deletes its per-worker gauges.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

from botify.config import ConfigError

VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
# prometheus_client's file names: <type>_<pid>.db, a gauge's type with its mode (gauge_liveall).
VALUE_FILE = re.compile(r"(counter|histogram|summary|gauge_[a-z]+)_\d+\.db")


class MetricsDir:
    def __init__(self) -> None:
        given = os.environ.get(VARIABLE)
        self.own = not given
        self.path = Path(given) if given else Path(tempfile.mkdtemp(prefix="botify-metrics-"))
        self.stale = 0  # value files of a previous run, deleted
        self.owner: int | None = None  # the process that prepared it

    def prepare(self) -> MetricsDir:
        """Make the folder ready and name it in the environment (the workers inherit it)."""
        if not self.own:
            try:
                self.path.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise ConfigError(f"{VARIABLE}: cannot make {self.path}: {error}") from None
            if not os.access(self.path, os.W_OK):
                raise ConfigError(f"{VARIABLE}: {self.path} is not writable")
            for file in self.path.iterdir():
                if VALUE_FILE.fullmatch(file.name):
                    file.unlink()
                    self.stale += 1
        os.environ[VARIABLE] = str(self.path)
        self.owner = os.getpid()
        return self

    def remove(self) -> None:
        """At the stop: the folder made here goes; a given one keeps the last values. Only in
        the process that prepared it: a gunicorn worker is a fork of botify serve, and its exit
        (a reload, a graceful stop) unwinds botify serve's own code in the worker too."""
        if self.own and os.getpid() == self.owner:
            shutil.rmtree(self.path, ignore_errors=True)
            os.environ.pop(VARIABLE, None)

    def describe(self) -> str:
        if self.own:
            return f"workers' metrics in {self.path} (deleted at the stop)"
        stale = f", {self.stale} files of a previous run deleted" if self.stale else ""
        return f"workers' metrics in {self.path} ({VARIABLE}{stale})"


def worker_exited(server, worker) -> None:
    """gunicorn's child_exit hook, in the master: the exited worker's gauges go (its counters
    stay summed)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
