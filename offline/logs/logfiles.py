"""Which files to read: the command line names files and folders; folders are searched.

File names and their rotation order are botify.lognames': the live `events.jsonl` or the
course's `data.json`, their backups `events.jsonl.N` and `data.json.N` (the highest number the
oldest), and other `*.jsonl`.
Several replicas give one folder each. Files are returned oldest first within a folder so that
reading order is time order, which breaks ties between events with the same millisecond the way
they happened.
"""

from __future__ import annotations

import os
from pathlib import Path

from botify.lognames import COURSE_LOG_FILE, LOG_FILE, age_order, is_log_name
from offline.logs.errors import InputError


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
                    f"no event log files ({LOG_FILE}, {COURSE_LOG_FILE}, their .N backups, "
                    f"*.jsonl) under {text}"
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
