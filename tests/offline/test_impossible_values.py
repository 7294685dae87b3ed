"""Impossible values and duplicated lines: skipped, counted by kind with file:line, named in
`botify ab`'s report and `botify train`'s output; what remains gives a clean log's figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from offline.learn.train import main as train_main
from offline.logs.logfiles import find_log_files
from offline.logs.reading import DUPLICATE, KINDS, read_log
from offline.report.ab import main as ab_main
from tests.train.helpers import log_events, write_catalog

ARTISTS = [t // 4 for t in range(40)]

# Each impossible value, put in a copy of a clean event: (kind, changed fields).
IMPOSSIBLE = [
    ("time", {"time": 2.5}),
    ("time", {"time": -1}),
    ("user", {"user": -5}),
    ("track", {"track": -1}),
    ("message", {"message": "skip"}),
    ("recommendation", {"recommendation": -3}),
]
NEW_KINDS = [KINDS[kind] for kind in ("message", "time", "user", "track", "recommendation")]


def clean_events() -> list[dict]:
    """30 users, two sessions each (240 events), in two arms of experiment AB."""
    sessions = []
    for user in range(30):
        extra = 8 + user
        sessions.append((user, [(0, 1.0), (1, 0.95), (2, 0.9), (extra, 0.4)]))
        sessions.append((user, [(extra, 1.0), (extra + 1, 0.7), (0, 0.6), (1, 0.9)]))
    events = log_events(sessions)
    for event in events:
        event["experiments"] = {"AB": "C" if event["user"] % 2 else "T1"}
    return events


def write_lines(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines))
    return path


def clean_log(folder: Path) -> list[Path]:
    lines = [json.dumps(e) for e in clean_events()]
    return [
        write_lines(folder / "replica-0" / "events.jsonl", lines[:120]),
        write_lines(folder / "replica-1" / "events.jsonl", lines[120:]),
    ]


def dirty_log(folder: Path) -> dict[str, list[str]]:
    """The clean log with every kind of impossible value, a line repeated in its file and a
    folder collected twice (replica-1's first 100 lines again); returns the file:line expected
    of each kind, in reading order."""
    events = clean_events()
    lines = [json.dumps(e) for e in events[:120]]
    first = folder / "replica-0" / "events.jsonl"
    expected: dict[str, list[str]] = {}
    for at, (kind, change) in zip((3, 10, 20, 30, 40, 50), IMPOSSIBLE, strict=True):
        lines.insert(at, json.dumps(events[at] | change))
        expected.setdefault(kind, []).append(f"{first}:{at + 1}")
    lines.insert(70, lines[4])  # a line repeated: the same as line 5
    expected[DUPLICATE] = [f"{first}:71"]
    write_lines(first, lines)
    rest = [json.dumps(e) for e in events[120:]]
    write_lines(folder / "replica-1" / "events.jsonl", rest)
    again = write_lines(folder / "replica-1-again" / "events.jsonl", rest[:100])
    expected[DUPLICATE] += [f"{again}:{n}" for n in range(1, 101)]
    return expected


def read(folder: Path):
    return read_log(find_log_files([str(folder)]))


def test_each_kind_is_skipped_counted_and_named_and_the_rest_is_the_clean_log(tmp_path):
    clean_log(tmp_path / "clean")
    expected = dirty_log(tmp_path / "dirty")
    clean, dirty = read(tmp_path / "clean"), read(tmp_path / "dirty")

    assert dirty.events.equals(clean.events)
    assert {kind: s.lines for kind, s in dirty.skipped.items()} == {
        kind: len(where) for kind, where in expected.items()
    }
    for kind, skipped in dirty.skipped.items():
        assert [f"{b.file}:{b.line}" for b in skipped.examples] == expected[kind][:5]
    # Impossible values are unusable lines (toward --max-bad-lines); duplicates are not.
    assert dirty.bad == len(IMPOSSIBLE) and dirty.duplicates == 101
    assert dirty.lines == 240 + len(IMPOSSIBLE) + 1 + 100
    copy = dirty.skipped[DUPLICATE].examples[0]
    assert copy.reason == f"same as {tmp_path / 'dirty' / 'replica-0' / 'events.jsonl'}:5"
    assert clean.skipped == {} and clean.bad == 0


def run_ab(capsys, *argv) -> tuple[int, str, str]:
    code = ab_main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def report_body(out: str) -> str:
    """The report from its arms on: what must not change with what was skipped."""
    return out[out.index("## Arms") :]


def test_botify_ab_names_each_kind_and_judges_what_remains_as_the_clean_log(tmp_path, capsys):
    clean_log(tmp_path / "clean")
    expected = dirty_log(tmp_path / "dirty")
    code, clean_out, err = run_ab(capsys, tmp_path / "clean", "--out", tmp_path / "r1")
    assert code == 0, err
    assert "240 read from 2 files, 0 skipped |" in clean_out
    assert not any(text in clean_out for text in [*NEW_KINDS, KINDS[DUPLICATE]])

    # 6 impossible lines of 347 are above the default --max-bad-lines (1%).
    code, out, err = run_ab(capsys, tmp_path / "dirty", "--out", tmp_path / "r2")
    assert code == 2 and "6 of 347 lines" in err and "impossible value" in err
    assert expected["time"][0] in err

    args = ["--out", tmp_path / "r2", "--max-bad-lines", "0.02"]
    code, out, err = run_ab(capsys, tmp_path / "dirty", *args)
    assert code == 0, err
    assert "347 read from 3 files, 107 skipped (30.836%)" in out
    for kind, where in expected.items():
        assert f"{len(where):,} {KINDS[kind]}, e.g. {where[0]}" in out
    assert report_body(out) == report_body(clean_out)
    assert (tmp_path / "r2" / "effects.csv").read_text() == (
        tmp_path / "r1" / "effects.csv"
    ).read_text()


def test_duplicates_alone_never_fail_the_run(tmp_path, capsys):
    files = clean_log(tmp_path / "log")
    (tmp_path / "log" / "replica-0-again").mkdir()
    (tmp_path / "log" / "replica-0-again" / "events.jsonl").write_bytes(files[0].read_bytes())
    code, out, err = run_ab(capsys, tmp_path / "log", "--out", tmp_path / "r")
    assert code == 0, err
    assert f"360 read from 3 files, 120 skipped (33.333%): 120 {KINDS[DUPLICATE]}" in out


@pytest.fixture
def catalog(tmp_path):
    return write_catalog(tmp_path / "data" / "tracks.json", ARTISTS)


def test_botify_train_names_each_kind_and_learns_what_the_clean_log_teaches(
    tmp_path, capsys, catalog
):
    clean_log(tmp_path / "clean")
    expected = dirty_log(tmp_path / "dirty")
    base = ["--catalog", catalog, "--holdout", "0"]
    assert train_main([str(a) for a in [tmp_path / "clean", *base, "--out", tmp_path / "a"]]) == 0
    clean_out = capsys.readouterr().out
    assert "240 listens, 30 users, 60 sessions" in clean_out and "skipped" not in clean_out

    dirty = [tmp_path / "dirty", *base, "--out", tmp_path / "b"]
    assert train_main([str(a) for a in dirty]) == 2
    assert "6 of 347 log lines" in capsys.readouterr().err
    assert train_main([str(a) for a in [*dirty, "--max-bad-lines", "0.02"]]) == 0
    out = capsys.readouterr().out
    assert "240 listens, 30 users, 60 sessions" in out
    for kind, where in expected.items():
        assert f"{len(where):,} {KINDS[kind]} (e.g. {', '.join(where[:3])})" in out
    for name in ("top_tracks.json", "i2i.json", "users.json"):
        assert (tmp_path / "b" / name).read_text() == (tmp_path / "a" / name).read_text()
    meta = json.loads((tmp_path / "b" / "top_tracks.meta.json").read_text())["log"]
    assert meta["skipped_lines"] == {kind: len(where) for kind, where in expected.items()}
    assert meta["bad_lines"] == len(IMPOSSIBLE)
