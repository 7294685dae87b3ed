"""The event log's file names and rotation order: the one owner of both, for the writer
(botify.eventlog) and every reader.

The live file is `events.jsonl`, or the course's `data.json` (config.json's `log_file`, for the
course's scripts and notebooks, which look for `*/data.json`). Rotation is by size, like
logging's RotatingFileHandler: events.jsonl -> events.jsonl.1 -> ... (`.1` the newest backup, the
highest number the oldest); data.json -> data.json.1 -> ... likewise. Readers accept both
families, and any other `*.jsonl`. Events the writer could not write are counted in
`lost_events.ndjson`.
"""

from __future__ import annotations

import re

LOG_FILE = "events.jsonl"
COURSE_LOG_FILE = "data.json"
LIVE_FILES = (LOG_FILE, COURSE_LOG_FILE)
# Beside the log: one JSON line per batch of events the writer gave up on (botify.eventlog),
# read by `botify ab`. Not an event log: its name does not end in .jsonl.
LOST_FILE = "lost_events.ndjson"
# Beside it: space set aside while the disk has room, freed to record losses once it is full.
RESERVE_FILE = "lost_events.reserve"
_BACKUP = re.compile(r"^(?:events\.jsonl|data\.json)\.(\d+)$")


def check_live_name(name: object) -> str:
    """A live log file name whose rotation readers know. Raises ValueError naming the names."""
    if name not in LIVE_FILES:
        raise ValueError(f"must be one of {', '.join(LIVE_FILES)}, got {name!r}")
    return str(name)


def backup_name(number: int, live: str = LOG_FILE) -> str:
    """The name of the `number`-th backup of the live file `live` (1 is the newest)."""
    return f"{live}.{number}"


def file_name(age: int, live: str = LOG_FILE) -> str:
    """The name of the file `age` rotations old: 0 is the live file."""
    return live if age == 0 else backup_name(age, live)


def backup_number(name: str) -> int | None:
    match = _BACKUP.match(name)
    return int(match.group(1)) if match else None


def is_log_name(name: str) -> bool:
    return name.endswith(".jsonl") or backup_number(name) is not None or name in LIVE_FILES


def age_order(name: str) -> tuple[int, int, str]:
    """Sort key within one folder, oldest first: rotated backups from the highest number, then
    the live file, then any other log files by name. Reading in this order is time order."""
    number = backup_number(name)
    if number is not None:
        return (0, -number, name)
    if name in LIVE_FILES:
        return (1, 0, name)
    return (2, 0, name)
