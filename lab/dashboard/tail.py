"""Following event logs as they grow: each refresh parses only the bytes appended since the last.

A file is known by its device and inode, not its name: when the service rotates its log
(events.jsonl becomes events.jsonl.1, botify.lognames), the lines already parsed stay with the
file under its new name and the new events.jsonl is read from its start. Only complete lines are
parsed once and kept; the bytes after a file's last newline (a line being written) are parsed
again at every refresh until their newline arrives, and count as botify ab counts such a final
line: an event when it is a whole JSON object, else a cut final line. A file that shrank was
rewritten: it is read again from its start. A file that disappeared (a backup deleted at
rotation) leaves the log, as it leaves what botify ab reads; the service records what it held in
lost_events.ndjson, which the report's serving account reads.

`log()` builds botify ab's Log (offline.logs.reading.combine) from the kept parses, so every count
of the dashboard is botify ab's over the same bytes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from offline.logs.errors import InputError
from offline.logs.logfiles import find_log_files
from offline.logs.reading import (
    SCHEMA,
    Log,
    Parsed,
    Schema,
    combine,
    parse_data,
    reading_schema,
)

FileKey = tuple[int, int]  # (device, inode)


@dataclass
class FollowedFile:
    path: Path  # its name at the last refresh
    parsed: Parsed  # its complete lines' parse, numbered as lines of the whole file
    offset: int = 0  # bytes parsed: up to and including the last complete line's newline
    lines: int = 0  # newlines in those bytes
    tail: bytes = b""  # the bytes after them: a line still being written


@dataclass
class TailCounts:
    """What the reader did, for the page's account of its own work."""

    bytes_parsed: int = 0  # complete lines parsed, each byte once
    last_new_bytes: int = 0  # of them, at the latest refresh
    waiting_bytes: int = 0  # in lines not yet complete, at the latest refresh
    files_gone: int = 0  # followed, then deleted
    files_rewritten: int = 0  # shrank: read again from the start
    last_gone: str | None = None  # the latest of them, by name


def shifted(parsed: Parsed, lines_before: int) -> Parsed:
    """A piece's parse with its line numbers counted from the start of its file."""
    frame, unparsed, expected, cut = parsed
    frame = frame.with_columns(pl.col("line") + lines_before)
    return frame, [(number + lines_before, why) for number, why in unparsed], expected, cut


def joined(first: Parsed, second: Parsed) -> Parsed:
    return (
        pl.concat([first[0], second[0]]),
        first[1] + second[1],
        first[2] + second[2],
        second[3],
    )


class LogTail:
    """The event logs under `paths` (files or folders, as botify ab takes them), followed."""

    def __init__(
        self, paths: list[str], schema: Schema = SCHEMA, optional: Schema | None = None
    ) -> None:
        self.paths = paths
        self.schema = schema
        self.optional = optional
        self.fields = reading_schema(schema, optional)
        self.files: dict[FileKey, FollowedFile] = {}
        self.order: list[FileKey] = []  # reading order at the latest refresh
        self.counts = TailCounts()

    def refresh(self) -> None:
        """Read what was appended since the last refresh. Raises InputError when the paths hold
        no log file (offline.logs.logfiles names what it looked for)."""
        order = []
        new_bytes = 0
        for path in find_log_files(self.paths):
            try:
                with open(path, "rb") as file:
                    # The open file's own inode: the name may have been rotated since the listing.
                    status = os.fstat(file.fileno())
                    key = (status.st_dev, status.st_ino)
                    followed = self.files.get(key)
                    if followed is None or status.st_size < followed.offset:
                        if followed is not None:
                            self.counts.files_rewritten += 1
                        followed = FollowedFile(path, parse_data(b"", self.fields))
                        self.files[key] = followed
                    file.seek(followed.offset)
                    data = file.read()
            except FileNotFoundError:  # rotated away between the listing and the open
                continue
            except OSError as error:
                raise InputError(f"cannot read {path}: {error.strerror or error}") from None
            followed.path = path
            if key in order:  # the same file named twice (a folder and a file in it)
                continue
            order.append(key)
            complete = data.rfind(b"\n") + 1
            if complete:
                piece = shifted(parse_data(data[:complete], self.fields), followed.lines)
                followed.parsed = joined(followed.parsed, piece)
                followed.offset += complete
                followed.lines += data.count(b"\n", 0, complete)
                new_bytes += complete
            followed.tail = data[complete:]
        for key in self.files.keys() - set(order):
            self.counts.files_gone += 1
            self.counts.last_gone = str(self.files.pop(key).path)
        self.order = order
        self.counts.bytes_parsed += new_bytes
        self.counts.last_new_bytes = new_bytes
        self.counts.waiting_bytes = sum(len(self.files[key].tail) for key in order)

    def log(self) -> Log:
        """botify ab's Log of the files as read at the latest refresh."""
        files, parses = [], []
        for key in self.order:
            followed = self.files[key]
            parsed = followed.parsed
            if followed.tail.strip(b"\r \t"):
                # Parsed as botify ab parses a final line without its newline; never kept.
                parsed = joined(
                    parsed, shifted(parse_data(followed.tail, self.fields), followed.lines)
                )
            files.append(followed.path)
            parses.append(parsed)
        return combine(files, parses, self.schema, self.optional)
