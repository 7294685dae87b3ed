"""Reading logs: rotated files, replica folders, bad lines, cut lines, empty logs."""

from __future__ import annotations

import json

import polars as pl
import pytest

from offline.logs.errors import InputError
from offline.logs.logfiles import find_log_files
from offline.logs.reading import read_log
from offline.report.assignment import assign
from tests.offline.helpers import event, synthetic_log, write_events


def read(*paths) -> object:
    return read_log(find_log_files([str(p) for p in paths]))


def test_replica_folders_and_rotated_files_are_all_read_oldest_first(tmp_path):
    events = synthetic_log(tmp_path / "log", n_users=300, replicas=3, max_bytes=30_000)
    files = find_log_files([str(tmp_path / "log")])
    replica_1 = [f.name for f in files if f.parent.name == "replica-1"]
    assert len(replica_1) > 3
    assert replica_1[-1] == "events.jsonl"
    backups = [int(name.rsplit(".", 1)[1]) for name in replica_1[:-1]]
    assert backups == sorted(backups, reverse=True) == list(range(len(backups), 0, -1))
    assert {f.parent.name for f in files} == {"replica-0", "replica-1", "replica-2"}

    log = read(tmp_path / "log")
    assert log.events.height == log.lines == len(events["user"])
    assert log.bad == 0 and not log.truncated
    # reading order is time order within each replica
    first_file = log.events.head(50)["timestamp"].to_list()
    assert first_file == sorted(first_file)
    assert sorted(log.events["timestamp"].to_list()) == sorted(events["timestamp"].tolist())


def test_folder_search_takes_log_names_only_and_skips_hidden_folders(tmp_path):
    write_events(tmp_path / "a" / "events.jsonl.1", [event(1, 1)])
    write_events(tmp_path / "a" / "events.jsonl", [event(1, 2)])
    write_events(tmp_path / "a" / "extra.jsonl", [event(1, 3)])
    write_events(tmp_path / "course" / "data.json", [event(1, 4)])
    write_events(tmp_path / "a" / "notes.txt", [event(1, 5)])
    write_events(tmp_path / "a" / "events.jsonl.bak", [event(1, 6)])
    write_events(tmp_path / ".ipynb_checkpoints" / "events.jsonl", [event(1, 7)])
    files = find_log_files([str(tmp_path), str(tmp_path / "a" / "events.jsonl")])
    names = [str(f.relative_to(tmp_path)) for f in files]
    assert names == ["a/events.jsonl.1", "a/events.jsonl", "a/extra.jsonl", "course/data.json"]
    assert read(tmp_path).events["timestamp"].to_list() == [1, 2, 3, 4]


def test_bad_lines_are_counted_named_and_skipped(tmp_path):
    good = [event(u, u) for u in range(1, 21)]
    lines = [json.dumps(e) for e in good]
    lines[2] = "{not json"
    lines[5] = json.dumps({k: v for k, v in good[5].items() if k != "user"})
    lines[7] = json.dumps(good[7] | {"time": "slow"})
    lines[9] = json.dumps(good[9] | {"message": "skip"})
    lines[11] = json.dumps(good[11] | {"experiments": ["AB"]})
    lines[13] = "[1, 2]"
    lines[17] = json.dumps(good[17]).replace('"time": 0.5', '"time": NaN')  # not JSON
    lines.insert(15, "")  # blank lines are not events and not errors
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n")

    log = read(path)
    assert log.bad == 7
    assert log.lines == 20
    assert log.events.height == 13
    assert [(b.line, b.reason) for b in log.bad_examples] == [
        (3, "not valid JSON"),
        (6, "missing or invalid 'user'"),
        (8, "missing or invalid 'time'"),
        (10, "'message' is neither next nor last"),
        (12, "'experiments' is not an object"),
    ]
    assert log.events["user"].to_list() == [1, 2, 4, 5, 7, 9, 11, 13, 15, 16, 17, 19, 20]


def test_a_corrupt_line_deep_in_a_big_file_is_found_exactly(tmp_path):
    lines = [json.dumps(event(u, u)) for u in range(10_000)]
    for index in (17, 4_500, 9_999):
        lines[index] = lines[index][: len(lines[index]) // 2]  # torn writes
    lines.insert(6_000, "")
    (tmp_path / "events.jsonl").write_text("\n".join(lines) + "\n")
    log = read(tmp_path / "events.jsonl")
    assert [b.line for b in log.bad_examples] == [18, 4_501, 10_001]
    assert log.events.height == 9_997 and log.lines == 10_000
    assert log.events["user"].to_list() == [u for u in range(10_000) if u not in (17, 4500, 9999)]


def test_cut_final_line_is_reported_apart_from_bad_lines(tmp_path):
    lines = [json.dumps(event(1, t)) + "\n" for t in range(6)]  # distinct: no duplicates
    (tmp_path / "events.jsonl").write_text("".join(lines[:3]) + lines[3][:30])
    (tmp_path / "events.jsonl.1").write_text("".join(lines[3:5]) + lines[5].strip())  # no newline
    log = read(tmp_path)
    assert log.truncated == [tmp_path / "events.jsonl"]
    assert log.bad == 0
    assert log.events.height == log.lines == 6


def test_empty_and_missing_inputs_fail_clearly(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no event log files .* under .*empty"):
        find_log_files([str(tmp_path / "empty")])
    with pytest.raises(InputError, match="no such file or folder: .*nowhere"):
        find_log_files([str(tmp_path / "nowhere")])
    (tmp_path / "empty" / "events.jsonl").write_text("")
    log = read(tmp_path / "empty")
    assert log.events.height == 0 and log.lines == 0 and log.bad == 0


def test_unknown_experiment_lists_the_ones_in_the_log(tmp_path):
    synthetic_log(tmp_path, n_users=50)
    log = read(tmp_path)
    with pytest.raises(InputError, match="experiment 'ABC' is not in the logs; .*found: AB, OTHER"):
        assign(log, "ABC")


def test_users_whose_arm_changes_are_flagged_and_events_without_the_arm_counted(tmp_path):
    write_events(
        tmp_path / "events.jsonl",
        [
            event(1, 1, arm="C"),
            event(2, 1, arm="T1"),
            event(1, 5, "last", arm="T1"),
            event(3, 2, arm=None),
            event(3, 3, arm="T2"),
            event(4, 1, arm="T10"),
        ],
    )
    assignment = assign(read(tmp_path), "AB")
    assert assignment.arms == ["C", "T1", "T2", "T10"]
    assert assignment.switched_users.rows() == [(1, ["C", "T1"])]
    assert assignment.unassigned_events == 1
    assert assignment.events.filter(pl.col("user") == 3).height == 1
