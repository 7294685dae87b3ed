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
    return parse_loss_records(path.read_text(errors="replace"), str(path))


def parse_loss_records(text: str, name: str) -> list[dict]:
    """The records of a loss file's text, each with `name` as `file` (the Spark engine reads
    the text from any file system)."""
    records = []
    for number, line in enumerate(text.splitlines(), 1):
        try:
            record = json.loads(line)
            int(record["lost"]), int(record["from_timestamp"]), int(record["to_timestamp"])
        except (ValueError, KeyError, TypeError):
            raise InputError(f"{name}:{number}: not a loss record") from None
        records.append({**record, "file": name})
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
