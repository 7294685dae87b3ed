"""The dashboard's incremental reader (lab.dashboard.tail) on real files: it parses each new byte
once, lets a line being written wait, follows a rotation by inode, and its Log is always the one
botify ab reads from the same files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lab.dashboard.tail import LogTail
from offline.logs.errors import InputError
from offline.logs.logfiles import find_log_files
from offline.logs.reading import Log, read_log
from offline.report.serving import SERVING_FIELDS
from tests.dashboard.logs import log_lines


def botify_ab_log(folder: Path) -> Log:
    return read_log(find_log_files([str(folder)]), optional=SERVING_FIELDS)


def assert_same_log(tail: LogTail, folder: Path) -> Log:
    log, expected = tail.log(), botify_ab_log(folder)
    assert log.events.equals(expected.events)
    assert (log.files, log.lines, log.bad, log.truncated) == (
        expected.files,
        expected.lines,
        expected.bad,
        expected.truncated,
    )
    return log


def follow(folder: Path) -> LogTail:
    tail = LogTail([str(folder)], optional=SERVING_FIELDS)
    tail.refresh()
    return tail


def test_each_new_byte_is_parsed_once(tmp_path: Path) -> None:
    lines = log_lines(users=60)
    live = tmp_path / "events.jsonl"
    first, rest = b"".join(lines[:200]), b"".join(lines[200:])
    live.write_bytes(first)
    tail = follow(tmp_path)
    assert tail.counts.bytes_parsed == len(first)
    assert assert_same_log(tail, tmp_path).events.height == 200

    with open(live, "ab") as file:
        file.write(rest)
    tail.refresh()
    assert tail.counts.last_new_bytes == len(rest)
    assert tail.counts.bytes_parsed == len(first) + len(rest)
    assert assert_same_log(tail, tmp_path).events.height == len(lines)

    tail.refresh()  # nothing new: nothing parsed
    assert tail.counts.last_new_bytes == 0
    assert tail.counts.bytes_parsed == len(first) + len(rest)


def test_a_line_being_written_waits_for_its_newline(tmp_path: Path) -> None:
    lines = log_lines(users=20)
    live = tmp_path / "events.jsonl"
    live.write_bytes(b"".join(lines[:10]) + lines[10][:25])
    tail = follow(tmp_path)
    assert tail.counts.bytes_parsed == len(b"".join(lines[:10]))
    assert tail.counts.waiting_bytes == 25
    log = assert_same_log(tail, tmp_path)  # botify ab calls it a cut final line too
    assert (log.events.height, log.truncated) == (10, [live])

    with open(live, "ab") as file:
        file.write(lines[10][25:])
    tail.refresh()
    assert tail.counts.last_new_bytes == len(lines[10])
    assert tail.counts.waiting_bytes == 0
    log = assert_same_log(tail, tmp_path)
    assert (log.events.height, log.truncated) == (11, [])


def test_a_complete_object_without_its_newline_counts_as_botify_ab_counts_it(
    tmp_path: Path,
) -> None:
    lines = log_lines(users=20)
    (tmp_path / "events.jsonl").write_bytes(b"".join(lines[:5]) + lines[5].rstrip(b"\n"))
    tail = follow(tmp_path)
    assert tail.counts.waiting_bytes == len(lines[5]) - 1
    assert assert_same_log(tail, tmp_path).events.height == 6


def test_a_rotated_file_keeps_its_lines_and_the_new_one_is_read_from_its_start(
    tmp_path: Path,
) -> None:
    lines = log_lines(users=60)
    live, backup = tmp_path / "events.jsonl", tmp_path / "events.jsonl.1"
    live.write_bytes(b"".join(lines[:100]))
    tail = follow(tmp_path)

    os.rename(live, backup)  # as botify.eventlog rotates: the live file becomes .1
    new = b"".join(lines[100:150])
    live.write_bytes(new)
    tail.refresh()
    assert tail.counts.last_new_bytes == len(new)  # the backup was not read again
    assert assert_same_log(tail, tmp_path).events.height == 150

    backup.unlink()  # the oldest backup deleted at a later rotation
    tail.refresh()
    assert (tail.counts.files_gone, tail.counts.last_gone) == (1, str(backup))
    assert assert_same_log(tail, tmp_path).events.height == 50


def test_a_file_rewritten_shorter_is_read_again(tmp_path: Path) -> None:
    lines = log_lines(users=20)
    live = tmp_path / "events.jsonl"
    live.write_bytes(b"".join(lines[:30]))
    tail = follow(tmp_path)
    with open(live, "r+b") as file:  # the same inode, truncated and written again
        file.truncate(0)
        file.write(b"".join(lines[:5]))
    tail.refresh()
    assert tail.counts.files_rewritten == 1
    assert assert_same_log(tail, tmp_path).events.height == 5


def test_bad_lines_are_counted_as_botify_ab_counts_them(tmp_path: Path) -> None:
    lines = log_lines(users=20)
    live = tmp_path / "events.jsonl"
    live.write_bytes(b"".join(lines[:10]) + b"not json\n")
    tail = follow(tmp_path)
    with open(live, "ab") as file:
        file.write(b'{"message": "skip"}\n' + b"".join(lines[10:20]) + lines[3])  # a duplicate
    tail.refresh()
    log = assert_same_log(tail, tmp_path)
    assert (log.bad, log.duplicates, log.events.height) == (2, 1, 20)
    assert [bad.line for bad in log.bad_examples] == [11, 12]


def test_a_folder_without_logs_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no event log files .* under"):
        LogTail([str(tmp_path)]).refresh()
