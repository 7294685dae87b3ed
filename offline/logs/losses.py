"""The event log's own record of what it lost (botify.eventlog writes `lost_events.ndjson`
beside the log: events it gave up writing, backups deleted at a rotation), read for the
report's account of the service (offline.report.serving)."""

from __future__ import annotations

import json
from pathlib import Path

from botify.lognames import LOST_FILE
from offline.logs.errors import InputError


def loss_records(path: Path) -> list[dict]:
    """The records of one loss file, each with the file's path as `file`."""
    records = []
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
        try:
            record = json.loads(line)
            int(record["lost"]), int(record["from_timestamp"]), int(record["to_timestamp"])
        except (ValueError, KeyError, TypeError):
            raise InputError(f"{path}:{number}: not a loss record") from None
        records.append({**record, "file": str(path)})
    return records


def find_loss_records(log_files: list[Path]) -> list[dict]:
    """The loss records in the folders of the log files, each file once."""
    folders = dict.fromkeys(path.parent.resolve() for path in log_files)
    records = []
    for folder in folders:
        path = folder / LOST_FILE
        if path.is_file():
            records += loss_records(path)
    return records
