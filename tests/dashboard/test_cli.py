"""`botify dashboard`'s bad input: one line on stderr naming what was wrong, exit status 2, no
traceback, and no server left listening."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from lab.cli import main
from tests.dashboard.logs import log_lines


def refused(capsys, *argv: str) -> str:
    assert main(["dashboard", *argv]) == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("botify dashboard: ")
    return lines[0]


@pytest.fixture
def log_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "log"
    folder.mkdir()
    (folder / "events.jsonl").write_bytes(b"".join(log_lines(users=20)))
    return folder


def test_a_folder_without_logs_is_named_with_what_was_looked_for(capsys, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a log")
    message = refused(capsys, str(tmp_path))
    assert (
        f"no event log files (events.jsonl, data.json, their .N backups, *.jsonl) under {tmp_path}"
        in message
    )
    assert "nor is it a run folder" in message


def test_a_missing_path_is_named(capsys, tmp_path: Path) -> None:
    assert refused(capsys, str(tmp_path / "nowhere")).endswith(
        f"no such file or folder: {tmp_path / 'nowhere'}"
    )


@pytest.mark.parametrize("port", ["70000", "-1", "eighty"])
def test_a_port_out_of_range_or_not_a_number_is_refused(capsys, log_folder, port: str) -> None:
    message = refused(capsys, str(log_folder), "--port", port)
    assert "--port" in message and repr(port) in message


def test_a_port_in_use_is_named(capsys, log_folder) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        message = refused(capsys, str(log_folder), "--port", str(port))
    assert message == (
        f"botify dashboard: cannot listen on 127.0.0.1:{port}: Address already in use "
        "(check --host, --port)"
    )


@pytest.mark.parametrize(
    ("option", "value"),
    [("--service", "localhost:8000"), ("--refresh", "0"), ("--alpha", "2"), ("--split", "50")],
)
def test_bad_options_are_named(capsys, log_folder, option: str, value: str) -> None:
    message = refused(capsys, str(log_folder), option, value)
    assert option in message and repr(value) in message
