"""The event log's file names and rotation order: the one owner of both, for the writer
(botify.eventlog) and every reader.

The live file is `events.jsonl`; rotation is by size, like logging's RotatingFileHandler:
events.jsonl -> events.jsonl.1 -> ... (`.1` the newest backup, the highest number the oldest).
The course's service logged to `data.json`; readers accept its folders as they are. Events the
writer could not write are counted in `lost_events.ndjson`.
"""

from __future__ import annotations

import re

LOG_FILE = "events.jsonl"
COURSE_LOG_FILE = "data.json"
# Beside the log: one JSON line per batch of events the writer gave up on (botify.eventlog),
# read by `botify ab`. Not an event log: its name does not end in .jsonl.
LOST_FILE = "lost_events.ndjson"
_BACKUP = re.compile(r"^events\.jsonl\.(\d+)$")


def backup_name(number: int) -> str:
    """The name of the `number`-th backup (1 is the newest)."""
    return f"{LOG_FILE}.{number}"


def file_name(age: int) -> str:
    """The name of the file `age` rotations old: 0 is the live file."""
    return LOG_FILE if age == 0 else backup_name(age)


def backup_number(name: str) -> int | None:
    match = _BACKUP.match(name)
    return int(match.group(1)) if match else None


def is_log_name(name: str) -> bool:
    return name.endswith(".jsonl") or backup_number(name) is not None or name == COURSE_LOG_FILE


def age_order(name: str) -> tuple[int, int, str]:
    """Sort key within one folder, oldest first: rotated backups from the highest number, then
    the live file, then any other log files by name. Reading in this order is time order."""
    number = backup_number(name)
    if number is not None:
        return (0, -number, name)
    if name == LOG_FILE:
        return (1, 0, name)
    return (2, 0, name)
