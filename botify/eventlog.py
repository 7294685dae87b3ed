"""The event log: one JSON line per accepted /next and /last.

The service's log writes through (`write_through=True`, what botify.app makes): a request's event
reaches the kernel, in one O_APPEND write of its whole line, before the request's answer goes out
(the service writes its event, then answers). So a worker killed hard (SIGKILL, the OOM killer)
loses no event of a request it answered: the kernel has it, whatever becomes of the process. A
bulk producer (the in-process day, synthetic logs) queues instead: `write` puts the event on a
queue and a writer thread appends everything queued in one write() per batch, every
FLUSH_INTERVAL.

Several processes (gunicorn workers, replicas sharing a folder) append to the same file: each
write is made under an exclusive lock (flock on a lock file beside the log), which also guards
rotation, and a writer that finds the file rotated by another process reopens it. So no line is
lost, duplicated, interleaved or cut, across rotations too. Closing (a graceful stop, at exit)
writes everything still queued.

A batch is written whole or not at all: a write cut short (a full disk) is truncated back to
where it began, so the file never holds a torn line. A batch that could not be written is kept
and tried again on every wake-up, for up to `retry_seconds` and `retry_events` events; beyond
that its events are counted as lost. Losses are never silent: `stats()` (shown by /healthz)
counts them, and each loss is recorded in `lost_events.ndjson` beside the log
(botify.lognames), which `botify ab` reports: once the folder takes writes again, or, on a disk
that stays full, in the space of `lost_events.reserve` (RESERVE_BYTES set aside while the disk
had room, freed for this), every RECORD_EVERY seconds and at the stop, with `"still_failing":
true` (the events after such a record are unknown until a later record or line says more).

Rotation is by size, in the order botify.lognames owns: events.jsonl -> events.jsonl.1 -> ...
(or the course's data.json -> data.json.1 -> ..., config.json's `log_file`)
up to `backups` files; with backups=0 the file is never rotated. A rotation that deletes the
oldest backup is not silent either: the process that rotates counts that file's events and their
time span, says so on stderr, counts them in `stats()` ("rotated_away") and records them in
`lost_events.ndjson` with `"reason": "rotated"` (write losses have `"reason": "write_failed"`).
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import logging
import os
import queue
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import ujson

from botify.lognames import LOG_FILE, LOST_FILE, RESERVE_FILE, backup_name, check_live_name

BATCH = 4096  # events per write at most
FLUSH_INTERVAL = 0.05  # seconds between writes: events reach the file within this delay
RESERVE_BYTES = 64 * 1024  # room for some 300 loss records on a full disk
RECORD_EVERY = 5.0  # seconds between loss records while the log keeps failing

log = logging.getLogger(__name__)


@dataclass
class Pending:
    """A serialised batch not written yet: about to be, or waiting for a retry."""

    data: bytes
    events: int
    first_ms: int  # the first and last event's timestamps
    last_ms: int
    since: float  # time.monotonic() of the first failure


@dataclass
class Loss:
    """Events given up on, to be recorded in lost_events.ndjson."""

    events: int
    first_ms: int
    last_ms: int
    error: str
    reason: str = "write_failed"  # or "rotated": the oldest backup deleted at a rotation
    extra: dict | None = None

    def record(self) -> dict:
        return {
            "lost": self.events,
            "from_timestamp": self.first_ms,
            "to_timestamp": self.last_ms,
            "reason": self.reason,
            "error": self.error,
            **(self.extra or {}),
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "recorded_at": int(time.time() * 1000),
        }


def _error_text(error: OSError) -> str:
    return f"{error.strerror or error} ({type(error).__name__})"


class EventLog:
    def __init__(
        self,
        directory: str | os.PathLike,
        max_bytes: int = 100 * 1024 * 1024,
        backups: int = 20,
        retry_seconds: float = 30.0,
        retry_events: int = 100_000,
        file_name: str = LOG_FILE,
        write_through: bool = False,
    ):
        self.directory = Path(directory)
        self.live = check_live_name(file_name)
        self.path = self.directory / self.live
        self._live_path = str(self.path)  # stat per write: a str saves pathlib's conversion
        self.max_bytes = max_bytes
        self.backups = backups
        self.retry_seconds = retry_seconds
        self.retry_events = retry_events
        self.write_through = write_through
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self._fd: int | None = None
        self._inode = 0  # the live file's, as _fd opened it
        self._lock_fd: int | None = None
        self._start_lock = threading.Lock()
        # One drain at a time (the writer thread's, or a caller's flush), so batches keep order.
        self._drain_lock = threading.Lock()
        self._stopping = threading.Event()
        self._closed = False
        self._reset_counts()
        atexit.register(self.close)

    def _reset_counts(self) -> None:
        self._pending: deque[Pending] = deque()
        self._losses: list[Loss] = []  # not yet recorded in lost_events.ndjson
        self.written = 0
        self.lost = 0
        self.rotated_away = 0  # events in backups this process deleted at rotation
        self.last_error: str | None = None
        self._failing = False
        self._recorded_at = float("-inf")  # time.monotonic() of the last try to record losses
        self._reserve_spent = False
        self._reserve_tried = float("-inf")  # time.monotonic() of the last try to restore it

    # -- the request side ----------------------------------------------------------------

    def write(self, event: dict) -> None:
        """Log an event. Writing through, it has reached the kernel when this returns, unless
        the log is failing: then it waits with the events before it, to be retried (by the
        writer thread) and counted. Else it is queued and this returns at once."""
        if self._pid != os.getpid():
            self._start()
        if not self.write_through:
            self._queue.put(event)
            return
        line = (ujson.dumps(event, ensure_ascii=False) + "\n").encode()
        timestamp = event["timestamp"]
        with self._drain_lock:
            last = self._pending[-1] if self._pending else None
            now = time.monotonic()
            if self._failing and last is not None and now - last.since < FLUSH_INTERVAL:
                # Waiting events go in batches of about FLUSH_INTERVAL, as queued ones do.
                last.data += line
                last.events += 1
                last.last_ms = timestamp
                return
            self._pending.append(Pending(line, 1, timestamp, timestamp, now))
            if not self._failing:  # a failing log is retried by the writer thread, not here
                self._write_pending()

    def _start(self) -> None:
        with self._start_lock:
            if self._pid == os.getpid():
                return
            # A forked child shares nothing of its parent's writer: start afresh.
            self._queue = queue.SimpleQueue()
            self._fd = self._lock_fd = None
            self._closed = False
            self._stopping = threading.Event()
            self._reset_counts()
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._run, name="botify-event-log", daemon=True)
            self._thread.start()

    def stats(self) -> dict:
        """This process's account of its log: "degraded" while events wait for a write that
        keeps failing, or when some were lost."""
        pending = sum(p.events for p in self._pending)
        degraded = bool(pending or self.lost)
        return {
            "status": "degraded" if degraded else "ok",
            "written": self.written,
            "pending": pending + self._queue.qsize(),
            "lost": self.lost,
            "rotated_away": self.rotated_away,
            "error": self.last_error if degraded else None,
        }

    # -- the writer side -----------------------------------------------------------------

    def _run(self) -> None:
        self._set_reserve_aside()
        # Wake on a timer rather than on every event: a request's put() then never hands the GIL
        # to this thread, and each wake-up writes everything queued in one batch.
        while not self._stopping.wait(FLUSH_INTERVAL):
            self._drain()
            self._restore_reserve()
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
                self._pending.append(self._serialise(batch))
                batch = []
        if batch:
            self._pending.append(self._serialise(batch))
        self._write_pending()

    @staticmethod
    def _serialise(batch: list[dict]) -> Pending:
        data = "".join(ujson.dumps(event, ensure_ascii=False) + "\n" for event in batch).encode()
        return Pending(
            data, len(batch), batch[0]["timestamp"], batch[-1]["timestamp"], time.monotonic()
        )

    def _write_pending(self) -> None:
        """Write the waiting batches in order; stop at the first failure and keep the rest (up
        to the retry bounds)."""
        while self._pending:
            batch = self._pending[0]
            try:
                self._append(batch.data)
            except OSError as error:
                if not self._failing:
                    log.error("event log: cannot write to %s: %s; retrying", self.path, error)
                self._failing = True
                self.last_error = _error_text(error)
                self._give_up_beyond_bounds()
                return
            self._pending.popleft()
            self.written += batch.events
            self._failing = False
        if self._losses:
            self._record_losses()

    def _give_up_beyond_bounds(self) -> None:
        now = time.monotonic()
        waiting = sum(p.events for p in self._pending)
        while self._pending and (
            now - self._pending[0].since > self.retry_seconds or waiting > self.retry_events
        ):
            batch = self._pending.popleft()
            waiting -= batch.events
            self.lost += batch.events
            last = self._losses[-1] if self._losses else None
            # One record for a stretch of failures, not one per batch.
            if last is not None and last.reason == "write_failed":
                last.events += batch.events
                last.last_ms = batch.last_ms
            else:
                self._losses.append(
                    Loss(batch.events, batch.first_ms, batch.last_ms, self.last_error or "")
                )
            log.error(
                "event log: %d events lost (could not write them to %s for %.0f s: %s)",
                batch.events,
                self.path,
                now - batch.since,
                self.last_error,
            )
        if self._losses:
            self._record_losses()  # on a disk that stays full, in the reserve's space

    def _record_losses(self, force: bool = False) -> None:
        """Append the losses not yet recorded to lost_events.ndjson; on a full disk, in the
        reserve's space (at most every RECORD_EVERY seconds while the log keeps failing, unless
        `force`: the stop)."""
        now = time.monotonic()
        if self._failing and not force and now - self._recorded_at < RECORD_EVERY:
            return
        self._recorded_at = now
        data = "".join(
            ujson.dumps({**loss.record(), "still_failing": self._failing}) + "\n"
            for loss in self._losses
        ).encode()
        try:
            self._locked_append(self.directory / LOST_FILE, data)
        except OSError as error:
            self.last_error = _error_text(error)
            if not self._free_reserve():
                return
            try:
                self._locked_append(self.directory / LOST_FILE, data)
            except OSError:
                return
        self._losses.clear()

    def _set_reserve_aside(self) -> None:
        """Create lost_events.reserve while the disk has room (a full disk: it waits)."""
        path = self.directory / RESERVE_FILE
        staged = path.with_name(f"{RESERVE_FILE}.{os.getpid()}")
        try:
            if path.exists():
                return
            self.directory.mkdir(parents=True, exist_ok=True)
            staged.write_bytes(bytes(RESERVE_BYTES))
            os.replace(staged, path)
        except OSError:
            with contextlib.suppress(OSError):
                staged.unlink()
        else:
            self._reserve_spent = False

    def _restore_reserve(self) -> None:
        """Set the reserve aside again once the log writes, from this thread (never a request's)
        and at most every RECORD_EVERY seconds while the disk is still too full for it."""
        now = time.monotonic()
        if self._reserve_spent and not self._failing and now - self._reserve_tried >= RECORD_EVERY:
            self._reserve_tried = now
            self._set_reserve_aside()

    def _free_reserve(self) -> bool:
        """Delete the reserve (whichever process set it aside): whether there was one."""
        try:
            os.unlink(self.directory / RESERVE_FILE)
        except OSError:
            return False
        self._reserve_spent = True
        log.error("event log: %s is full: its reserve freed to record the losses", self.directory)
        return True

    def _lock(self) -> int:
        if self._lock_fd is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._lock_fd = os.open(str(self.path) + ".lock", os.O_WRONLY | os.O_CREAT, 0o644)
        return self._lock_fd

    def _append(self, data: bytes) -> None:
        lock = self._lock()
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            fd, size = self._open_current()
            if self.backups > 0 and size > 0 and size + len(data) > self.max_bytes:
                self._rotate()
                fd, size = self._open_current()
            _write_whole(fd, data, size)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)

    def _locked_append(self, path: Path, data: bytes) -> None:
        lock = self._lock()
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                _write_whole(fd, data, os.fstat(fd).st_size)
            finally:
                os.close(fd)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)

    def _open_current(self) -> tuple[int, int]:
        """The live file's descriptor and size, (re)opened if another process rotated it away from
        under ours. The caller holds the lock, so the size stays true until it writes."""
        try:
            on_disk = os.stat(self._live_path)
        except FileNotFoundError:
            on_disk = None
        if self._fd is not None and on_disk is not None and on_disk.st_ino == self._inode:
            return self._fd, on_disk.st_size
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._fd = os.open(self._live_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        opened = os.fstat(self._fd)
        self._inode = opened.st_ino
        return self._fd, opened.st_size

    def _rotate(self) -> None:
        self._count_rotated_away()
        for number in range(self.backups - 1, 0, -1):
            source = self.directory / backup_name(number, self.live)
            if source.exists():
                os.replace(source, self.directory / backup_name(number + 1, self.live))
        os.replace(self.path, self.directory / backup_name(1, self.live))

    def _count_rotated_away(self) -> None:
        """The oldest backup is about to be replaced: count its events (a Loss with reason
        "rotated", recorded once the lock is released)."""
        oldest = self.directory / backup_name(self.backups, self.live)
        try:
            events, first_ms, last_ms = count_events(oldest)
        except FileNotFoundError:
            return
        except OSError as error:
            log.error("event log: cannot count the events of %s before rotation: %s", oldest, error)
            return
        if not events:
            return
        self.rotated_away += events
        loss = Loss(
            events,
            first_ms,
            last_ms,
            f"rotated away: log_backups is {self.backups}",
            reason="rotated",
            extra={"log_backups": self.backups, "rotated_file": oldest.name},
        )
        self._losses.append(loss)
        log.warning(
            "event log: rotation deleted %s: %d events (timestamps %d to %d) rotated away "
            "(log_backups %d; %d by this process so far)",
            oldest,
            events,
            first_ms,
            last_ms,
            self.backups,
            self.rotated_away,
        )

    # -- stopping ------------------------------------------------------------------------

    def close(self, timeout: float = 10.0) -> None:
        """Write everything queued, then stop the writer. Safe to call more than once. What
        still cannot be written then is counted as lost (and said on stderr)."""
        if self._closed or self._pid != os.getpid():
            return
        self._closed = True
        self._stopping.set()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout)
        # Whatever the writer did not take (it timed out, or was never started) is written here.
        self._drain()
        if self._pending:
            self.retry_seconds = -1.0  # no later try: give up on what is left, and record it
            self._give_up_beyond_bounds()
        if self._losses:
            self._record_losses(force=True)
        for loss in self._losses:
            log.error("event log: %d events lost and not recorded: %s", loss.events, loss.error)
        for fd in (self._fd, self._lock_fd):
            if fd is not None:
                os.close(fd)
        self._fd = self._lock_fd = None
        self._pid = None

    def flush(self) -> None:
        """Write everything queued so far, from the calling thread, and keep logging."""
        if self._pid == os.getpid() and not self._closed:
            self._drain()


def count_events(path: Path, chunk: int = 1 << 20) -> tuple[int, int, int]:
    """A log file's events (its lines) and the first and last event's timestamps (0
    where no line at that end parses)."""
    events = 0
    head = b""
    tail = b""
    with open(path, "rb") as file:
        while block := file.read(chunk):
            events += block.count(b"\n")
            if len(head) < 65536:
                head += block[:65536]
            tail = (tail + block)[-65536:]
    if tail and not tail.endswith(b"\n"):
        events += 1  # a last line without its newline is an event too
    return events, _timestamp(head.splitlines()), _timestamp(reversed(tail.splitlines()))


def _timestamp(lines) -> int:
    for line in lines:
        try:
            return int(ujson.loads(line)["timestamp"])
        except (ValueError, KeyError, TypeError):
            continue
    return 0


def _write_whole(fd: int, data: bytes, start: int) -> None:
    """Append all of `data` or nothing: a write cut short (a full disk, a file size limit) is
    truncated back to where it began (`start`, the file's size). The caller holds the log's
    lock, so no other writer appends meanwhile."""
    view = memoryview(data)
    try:
        while view:
            written = os.write(fd, view)
            view = view[written:]
    except OSError:
        if len(view) < len(data):
            os.ftruncate(fd, start)
        raise
