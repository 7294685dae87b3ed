"""The course's log layout: the service logging to data.json (config `log_file`), its rotation,
and `botify collect` laying replicas out as DIR/<replica>/data.json for the course's scripts."""

from __future__ import annotations

import glob
import json

import pandas as pd
import pytest

from botify.config import ConfigError, load_config
from botify.eventlog import EventLog
from botify.lognames import COURSE_LOG_FILE, LOST_FILE
from lab.collect import main as collect_main
from offline.logs.logfiles import find_log_files
from tests.conftest import write_config


def event(user: int, timestamp: int, message: str = "next") -> dict:
    return {
        "message": message,
        "timestamp": timestamp,
        "user": user,
        "track": 1,
        "time": 0.5,
        "latency": 0.001,
        "recommendation": 2 if message == "next" else None,
        "experiments": {"HW": "C"},
    }


def write_lines(path, events, cut: str = "") -> None:
    path.write_text("".join(json.dumps(e) + "\n" for e in events) + cut)


def test_the_service_writes_and_rotates_the_courses_data_json(tmp_path):
    log = EventLog(tmp_path, max_bytes=300, backups=5, file_name=COURSE_LOG_FILE)
    for i in range(12):
        log.write(event(1, 1000 + i))
        log.flush()
    log.close()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert "data.json" in names and "data.json.1" in names
    assert not any(name.startswith("events.jsonl") for name in names)
    # read oldest first, every event once: the highest backup first, the live file last
    read = [
        json.loads(line)["timestamp"]
        for f in find_log_files([str(tmp_path)])
        for line in f.read_text().splitlines()
    ]
    assert read == list(range(1000, 1012))


@pytest.mark.parametrize("bad", ["log.txt", "a/data.json", 3, ""])
def test_log_file_must_be_a_name_readers_know(tmp_path, bad):
    with pytest.raises(ConfigError, match="log_file: must be one of events.jsonl, data.json"):
        load_config(write_config(tmp_path, log_file=bad))


def test_collect_joins_each_replicas_files_oldest_first(tmp_path, capsys):
    source = tmp_path / "log"
    one, two = source / "replica-a", source / "replica-b"
    one.mkdir(parents=True)
    two.mkdir()
    write_lines(one / "data.json.2", [event(1, 1), event(1, 2)])
    write_lines(one / "data.json.1", [event(1, 3)])
    write_lines(one / "data.json", [event(1, 4, "last")], cut='{"message": "ne')
    (one / LOST_FILE).write_text('{"lost": 3}\n')
    write_lines(two / "events.jsonl.1", [event(2, 5)])
    write_lines(two / "events.jsonl", [event(2, 6, "last")])
    out = tmp_path / "collected"

    assert collect_main([str(out), "--from", str(source)]) == 0
    printed = capsys.readouterr()
    assert "replica-a: left out 1 cut final line" in printed.err
    assert f"{out / 'replica-a' / 'data.json'}: 4 events" in printed.out

    # the course's own way of reading a log folder
    found = sorted(glob.glob(f"{out}/*/data.json"))
    assert found == [str(out / "replica-a" / "data.json"), str(out / "replica-b" / "data.json")]
    data = pd.concat([pd.read_json(path, lines=True) for path in found])
    assert data["timestamp"].tolist() == [1, 2, 3, 4, 5, 6]
    assert (out / "replica-a" / LOST_FILE).read_text() == '{"lost": 3}\n'
    assert not (out / "replica-b" / LOST_FILE).exists()


def test_collect_of_a_single_service_folder_names_it_after_the_folder(tmp_path):
    source = tmp_path / "day2"
    source.mkdir()
    write_lines(source / "data.json", [event(1, 1), event(1, 2, "last")])
    out = tmp_path / "collected"
    assert collect_main([str(out), "--from", str(source)]) == 0
    assert (out / "day2" / "data.json").read_text() == (source / "data.json").read_text()


def test_collect_refuses_what_it_cannot_do_and_touches_nothing(tmp_path, capsys):
    source = tmp_path / "log"
    source.mkdir()
    out = tmp_path / "out"
    assert collect_main([str(out), "--from", str(source)]) == 2
    assert "no event log files under" in capsys.readouterr().err
    assert collect_main([str(out), "--from", str(tmp_path / "missing")]) == 2
    assert "no such log folder" in capsys.readouterr().err
    write_lines(source / "data.json", [event(1, 1)])
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert collect_main([str(out), "--from", str(source)]) == 2
    assert "is not an empty folder" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]


def test_replace_takes_the_place_of_an_earlier_collection_and_nothing_else(tmp_path, capsys):
    source = tmp_path / "log"
    source.mkdir()
    write_lines(source / "data.json", [event(1, 1), event(1, 2, "last")])
    out = tmp_path / "out"
    assert collect_main([str(out), "--from", str(source)]) == 0
    (out / "ab_result.json").write_text("{}")
    (out / "report").mkdir()
    (out / "report" / "report.md").write_text("# old")
    write_lines(source / "data.json", [event(1, 3)])
    assert collect_main([str(out), "--from", str(source)]) == 2  # not without --replace
    assert collect_main([str(out), "--from", str(source), "--replace"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["log"]
    assert json.loads((out / "log" / "data.json").read_text())["timestamp"] == 3
    (out / "notes.txt").write_text("mine")
    capsys.readouterr()
    assert collect_main([str(out), "--from", str(source), "--replace"]) == 2
    assert "holds more than an earlier collection (notes.txt)" in capsys.readouterr().err
    assert (out / "notes.txt").read_text() == "mine"
