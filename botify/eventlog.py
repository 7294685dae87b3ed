"""The event log: one JSON line per accepted /next and /last, written off the request path.

A request only puts its event on a queue; a writer thread serialises queued events and appends
them in one write() per batch. Several processes (gunicorn workers, replicas sharing a folder)
append to the same file: each batch is written under an exclusive lock (flock on a lock file
beside the log), which also guards rotation, and a writer that finds the file rotated by another
process reopens it. So no line is lost, duplicated, interleaved or cut, across rotations too.
Closing (a graceful stop, at exit) writes everything still queued.

Rotation is by size, in the order botify.lognames owns: events.jsonl -> events.jsonl.1 -> ...
up to `backups` files; with backups=0 the file is never rotated.
"""

from __future__ import annotations

import atexit
import fcntl
import logging
import os
import queue
import threading
from pathlib import Path

import ujson

from botify.lognames import LOG_FILE, backup_name

BATCH = 4096  # events per write at most
FLUSH_INTERVAL = 0.05  # seconds between writes: events reach the file within this delay

log = logging.getLogger(__name__)


class EventLog:
    def __init__(
        self,
        directory: str | os.PathLike,
        max_bytes: int = 100 * 1024 * 1024,
        backups: int = 20,
    ):
        self.directory = Path(directory)
        self.path = self.directory / LOG_FILE
        self.max_bytes = max_bytes
        self.backups = backups
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self._fd: int | None = None
        self._lock_fd: int | None = None
        self._start_lock = threading.Lock()
        # One drain at a time (the writer thread's, or a caller's flush), so batches keep order.
        self._drain_lock = threading.Lock()
        self._stopping = threading.Event()
        self._closed = False
        atexit.register(self.close)

    # -- the request side ----------------------------------------------------------------

    def write(self, event: dict) -> None:
        """Queue an event; returns at once."""
        if self._pid != os.getpid():
            self._start()
        self._queue.put(event)

    def _start(self) -> None:
        with self._start_lock:
            if self._pid == os.getpid():
                return
            # A forked child shares nothing of its parent's writer: start afresh.
            self._queue = queue.SimpleQueue()
            self._fd = self._lock_fd = None
            self._closed = False
            self._stopping = threading.Event()
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._run, name="botify-event-log", daemon=True)
            self._thread.start()

    # -- the writer side -----------------------------------------------------------------

    def _run(self) -> None:
        # Wake on a timer rather than on every event: a request's put() then never hands the GIL
        # to this thread, and each wake-up writes everything queued in one batch.
        while not self._stopping.wait(FLUSH_INTERVAL):
            self._drain()
        self._drain()

    def _drain(self) -> None:
        with self._drain_lock:
            self._drain_queue()

    def _drain_queue(self) -> None:
        batch: list[dict] = []
        while True:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
            if len(batch) >= BATCH:
                self._write_batch(batch)
                batch = []
        if batch:
            self._write_batch(batch)

    def _write_batch(self, batch: list[dict]) -> None:
        data = "".join(ujson.dumps(event, ensure_ascii=False) + "\n" for event in batch).encode()
        try:
            self._append(data)
        except OSError:
            log.exception("event log: cannot write %d events to %s", len(batch), self.path)

    def _append(self, data: bytes) -> None:
        if self._lock_fd is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._lock_fd = os.open(str(self.path) + ".lock", os.O_WRONLY | os.O_CREAT, 0o644)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        try:
            fd = self._open_current()
            size = os.fstat(fd).st_size
            if self.backups > 0 and size > 0 and size + len(data) > self.max_bytes:
                self._rotate()
                fd = self._open_current()
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def _open_current(self) -> int:
        """(Re)open the live file if another process rotated it away from under our fd."""
        try:
            on_disk = os.stat(self.path).st_ino
        except FileNotFoundError:
            on_disk = None
        if self._fd is not None and on_disk == os.fstat(self._fd).st_ino:
            return self._fd
        if self._fd is not None:
            os.close(self._fd)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        return self._fd

    def _rotate(self) -> None:
        for number in range(self.backups - 1, 0, -1):
            source = self.directory / backup_name(number)
            if source.exists():
                os.replace(source, self.directory / backup_name(number + 1))
        os.replace(self.path, self.directory / backup_name(1))

    # -- stopping ------------------------------------------------------------------------

    def close(self, timeout: float = 10.0) -> None:
        """Write everything queued, then stop the writer. Safe to call more than once."""
        if self._closed or self._pid != os.getpid():
            return
        self._closed = True
        self._stopping.set()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout)
        # Whatever the writer did not take (it timed out, or was never started) is written here.
        self._drain()
        for fd in (self._fd, self._lock_fd):
            if fd is not None:
                os.close(fd)
        self._fd = self._lock_fd = None
        self._pid = None

    def flush(self) -> None:
        """Write everything queued so far, from the calling thread, and keep logging."""
        if self._pid == os.getpid() and not self._closed:
            self._drain()
