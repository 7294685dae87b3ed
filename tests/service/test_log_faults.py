"""The event log under write failures: a full disk (a file size limit cuts writes short, as
ENOSPC does), a folder that cannot be written. Whole lines or nothing, every loss counted."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

import pytest
import requests

from botify.eventlog import RESERVE_BYTES, EventLog
from botify.lognames import LOG_FILE, LOST_FILE, RESERVE_FILE
from tests.conftest import ROOT


def event(i: int) -> dict:
    return {"message": "next", "timestamp": 1_000 + i, "user": i, "track": i, "time": 0.5}


# Both ways of writing: queued (a bulk producer) and through (the service's).
WAYS = pytest.mark.parametrize("write_through", [False, True], ids=["queued", "through"])


@WAYS
def test_a_write_cut_short_leaves_whole_lines_and_counts_the_loss(tmp_path, write_through):
    """A child process with a file size limit writes 2,000 events: the file ends on a whole
    line, every event is either in the file or counted lost, and once the limit is lifted the
    loss is recorded beside the log."""
    script = textwrap.dedent(
        f"""
        import json, resource, signal, sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from botify.eventlog import EventLog
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write beyond the limit fails, EFBIG
        log = EventLog({str(tmp_path)!r}, max_bytes=0, backups=0, retry_seconds=0.2,
                       write_through={write_through})
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, resource.RLIM_INFINITY))
        for i in range(2000):
            log.write({{"message": "next", "timestamp": 1000 + i, "user": i, "track": i,
                       "time": 0.5, "pad": "x" * 40}})
            if i % 100 == 0:
                time.sleep(0.06)  # several batches, the writer wakes between them
        time.sleep(0.6)  # beyond retry_seconds: what could not be written is given up on
        log.flush()
        stats = log.stats()
        resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY,) * 2)
        log.write({{"message": "last", "timestamp": 9000, "user": 1, "track": 1, "time": 1.0}})
        log.close()
        print(json.dumps(stats))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    stats = json.loads(done.stdout)
    data = (tmp_path / LOG_FILE).read_bytes()
    assert data.endswith(b"\n")  # no torn line
    lines = [json.loads(line) for line in data.splitlines()]
    assert stats["status"] == "degraded" and stats["lost"] > 0
    assert stats["written"] + stats["lost"] == 2000
    assert len(lines) == stats["written"] + 1  # and the event after the limit was lifted
    losses = [json.loads(line) for line in (tmp_path / LOST_FILE).read_text().splitlines()]
    assert sum(loss["lost"] for loss in losses) == stats["lost"]
    assert all("File too large" in loss["error"] for loss in losses)
    logged = {line["timestamp"] for line in lines}
    for loss in losses:  # the lost span holds no logged event
        assert not any(loss["from_timestamp"] <= t <= loss["to_timestamp"] for t in logged)


@WAYS
def test_an_unwritable_folder_is_retried_then_counted(tmp_path, write_through):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the log folder should be")
    log = EventLog(blocker / "log", retry_seconds=60, write_through=write_through)
    for i in range(10):
        log.write(event(i))
    log.flush()
    stats = log.stats()
    assert stats["status"] == "degraded" and stats["pending"] == 10 and stats["lost"] == 0
    assert "Not a directory" in stats["error"]
    log.close()  # stopping gives up on what is still waiting, and counts it
    assert log.stats()["lost"] == 10 and log.stats()["pending"] == 0


@WAYS
def test_a_log_that_recovers_writes_what_waited(tmp_path, write_through):
    folder = tmp_path / "log"
    folder.write_text("in the way")
    log = EventLog(folder, retry_seconds=60, write_through=write_through)
    for i in range(5):
        log.write(event(i))
    log.flush()
    assert log.stats()["pending"] == 5
    folder.unlink()  # the folder can be made now
    log.write(event(5))
    log.flush()
    assert log.stats() == {
        "status": "ok",
        "written": 6,
        "pending": 0,
        "lost": 0,
        "rotated_away": 0,
        "error": None,
    }
    log.close()
    lines = (folder / LOG_FILE).read_text().splitlines()
    assert [json.loads(line)["user"] for line in lines] == list(range(6))


def test_healthz_reports_a_log_that_cannot_be_written(tmp_path, loaded, serve_app):
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    config, _ = loaded(log_dir=str(blocker / "log"), log_retry_seconds=0.3)
    server = serve_app(config)
    answer = requests.post(f"{server.url}/next/1", json={"track": 3, "time": 0.5})
    assert answer.status_code == 200  # the listener is answered
    server.service.events.flush()
    health = requests.get(f"{server.url}/healthz")
    assert health.status_code == 503
    body = health.json()
    assert body["status"] == "degraded" and body["log"]["pending"] == 1
    assert "cannot be written" in body["message"] and "Not a directory" in body["message"]
    time.sleep(0.4)
    server.service.events.flush()  # past the retry bound: given up, counted
    health = requests.get(f"{server.url}/healthz")
    assert health.status_code == 200
    assert health.json()["status"] == "degraded" and health.json()["log"]["lost"] == 1


def test_writing_through_an_event_is_in_the_file_when_write_returns(tmp_path):
    """No flush, no writer's wake-up: the line is the file's as soon as write() is back (what
    lets the service answer only after its event is written)."""
    log = EventLog(tmp_path, write_through=True)
    for i in range(3):
        log.write(event(i))
        lines = (tmp_path / LOG_FILE).read_text().splitlines()
        assert [json.loads(line)["user"] for line in lines] == list(range(i + 1))
    assert log.stats()["written"] == 3
    log.close()


@pytest.fixture
def small_disk(tmp_path):
    """A 512 KiB tmpfs (root mounts it, as CI runs)."""
    folder = tmp_path / "disk"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs (needs root): {mounted.stderr.decode().strip()}")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder) -> None:
    with open(folder / "filler", "wb", buffering=0) as file:
        try:
            while True:
                file.write(b"x" * 4096)
        except OSError:
            pass


def test_a_disk_that_stays_full_still_records_its_losses(small_disk):
    """The log sets space aside while it can; once the disk is full and stays full, the losses
    are recorded in that space, saying the log is still failing (what `botify ab` turns into
    "after that, unknown")."""
    log = EventLog(small_disk, retry_seconds=0.2, write_through=True)
    log.write(event(0))  # starts the writer, which sets the reserve aside
    deadline = time.monotonic() + 10
    while not (small_disk / RESERVE_FILE).exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert (small_disk / RESERVE_FILE).stat().st_size == RESERVE_BYTES
    fill(small_disk)
    for i in range(1, 101):
        log.write(event(i))
    time.sleep(0.6)  # beyond retry_seconds: given up on, and recorded
    stats = log.stats()
    records = [json.loads(line) for line in (small_disk / LOST_FILE).read_text().splitlines()]
    log.close()
    # The reserve's space, once freed, may take some of the waiting events too.
    assert stats["lost"] > 0 and stats["written"] + stats["lost"] == 101
    assert sum(record["lost"] for record in records) == stats["lost"]
    assert records[-1]["still_failing"] is True
    assert "No space left" in records[-1]["error"]
    assert not (small_disk / RESERVE_FILE).exists()  # spent on the records
