"""Events deleted with the oldest backup at rotation are counted, not lost quietly: by the
EventLog itself, in /healthz of a real service, and on top of `botify ab`'s report."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import requests

from botify.eventlog import EventLog
from botify.lognames import LOST_FILE, is_log_name
from offline.report.ab import main as ab_main


def logged_events(folder: Path) -> list[dict]:
    return [
        json.loads(line)
        for path in folder.iterdir()
        if is_log_name(path.name)
        for line in path.read_text().splitlines()
    ]


def loss_records(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / LOST_FILE).read_text().splitlines()]


def test_rotated_away_events_are_counted_exactly(tmp_path, caplog):
    log = EventLog(tmp_path, max_bytes=4_000, backups=1)
    n = 2_000
    with caplog.at_level(logging.WARNING, logger="botify.eventlog"):
        for i in range(n):
            log.write({"message": "next", "timestamp": 10_000 + i, "user": i, "track": i})
            if i % 50 == 49:
                log.flush()  # many batches, so many rotations
        log.close()
    kept = {event["timestamp"] for event in logged_events(tmp_path)}
    missing = sorted(set(range(10_000, 10_000 + n)) - kept)
    assert len(kept) + len(missing) == n and len(missing) > n // 2
    assert log.stats()["rotated_away"] == len(missing)
    assert log.stats()["status"] == "ok" and log.stats()["lost"] == 0
    records = loss_records(tmp_path)
    assert all(r["reason"] == "rotated" and r["log_backups"] == 1 for r in records)
    assert sum(r["lost"] for r in records) == len(missing)
    covered = {t for r in records for t in range(r["from_timestamp"], r["to_timestamp"] + 1)}
    assert covered == set(missing)  # each record spans exactly the events of its deleted file
    said = [m for m in caplog.messages if "rotated away" in m]
    assert len(said) == len(records)  # once per rotation that deleted a file


def test_healthz_and_botify_ab_report_what_rotation_deleted(tmp_path, served, capsys):
    service, log_dir = served(
        workers=1,  # one worker: its count is the folder's
        log_max_bytes=60_000,
        log_backups=1,
        experiments=[{"name": "EXP", "arms": {"C": ["top_pop"], "T1": ["random"]}}],
    )
    n_users = 400
    with requests.Session() as session:
        for user in range(n_users):
            for step, endpoint in enumerate(("next", "next", "last")):
                body = {"track": (user + step) % 100, "time": 0.5}
                answer = session.post(f"{service.url}/{endpoint}/{user}", json=body, timeout=10)
                assert answer.status_code == 200, answer.text
        answered = 3 * n_users
        time.sleep(0.5)  # the writer appends (and rotates) within its flush interval, 0.05 s
        health = session.get(f"{service.url}/healthz", timeout=10).json()
    assert service.stop() == 0
    rotated = health["log"]["rotated_away"]
    kept = logged_events(log_dir)
    assert rotated > 0 and rotated + len(kept) == answered
    assert sum(r["lost"] for r in loss_records(log_dir)) == rotated
    assert ab_main([str(log_dir), "--experiment", "EXP", "--out", str(tmp_path / "r")]) == 0
    head = capsys.readouterr().out.split("## Arms")[0]
    assert f"{rotated:,} events rotated away (log_backups 1) between " in head
