"""Which files to read: the command line names files and folders; folders are searched.

The service logs to `events.jsonl` and rotates it like logging.handlers.RotatingFileHandler
(`events.jsonl.1` is the newest backup, the highest number the oldest). Several replicas give one
folder each. Files are returned oldest first within a folder so that reading order is time order,
which breaks ties between events with the same millisecond the way they happened.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from offline.errors import InputError

ROTATED = re.compile(r"^events\.jsonl\.(\d+)$")
# The course's service logged to `data.json`; accept its folders as they are.
OTHER_NAMES = ("data.json",)


def is_log_name(name: str) -> bool:
    return name.endswith(".jsonl") or bool(ROTATED.match(name)) or name in OTHER_NAMES


def age_order(name: str) -> tuple[int, int, str]:
    """Sort key within one folder: rotated backups oldest first, then the live file, then any
    other log files by name."""
    rotated = ROTATED.match(name)
    if rotated:
        return (0, -int(rotated.group(1)), name)
    if name == "events.jsonl":
        return (1, 0, name)
    return (2, 0, name)


def search_folder(folder: Path) -> list[Path]:
    found: list[Path] = []
    for root, dirs, files in os.walk(folder):
        # Hidden folders hold copies (.ipynb_checkpoints) or tool state, never live logs.
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        names = sorted((n for n in files if is_log_name(n)), key=age_order)
        found.extend(Path(root) / name for name in names)
    return found


def find_log_files(paths: list[str]) -> list[Path]:
    """The files to read, in reading order, each once."""
    files: list[Path] = []
    for text in paths:
        path = Path(text)
        if path.is_dir():
            found = search_folder(path)
            if not found:
                raise InputError(
                    f"no event log files (events.jsonl, events.jsonl.N, *.jsonl) under {text}"
                )
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise InputError(f"no such file or folder: {text}")
    seen: set[Path] = set()
    unique = []
    for file in files:
        key = file.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(file)
    return unique
