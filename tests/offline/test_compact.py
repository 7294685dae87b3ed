"""`botify logs compact`: the log as Parquet gives the same report and the same training as the
log itself; a re-run adds only what is new, through rotation and a line being written."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from botify.lognames import LOST_FILE
from lab.cli import main as botify
from offline.logs.compacted import MANIFEST
from offline.report.ab import main as ab_main
from tests.offline.awkward_log import expected, run_report, write_awkward_log
from tests.offline.helpers import event, write_events

LIVE = Path("log/events.jsonl")


def compact(*args) -> int:
    return botify(["logs", "compact", *map(str, args)])


def test_the_parquet_folder_gives_the_report_of_the_log(tmp_path, monkeypatch, capsys):
    write_awkward_log(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert compact("log", "--out", "parquet") == 0
    said = capsys.readouterr().out
    assert "16 log files (16 new), 5,680 new lines: 5,678 rows written" in said
    assert "2 lines that are not JSON objects" in said and "log/replica-0/events.jsonl.7:21" in said
    assert "cut final line left for the next run in: log/replica-1/events.jsonl" in said
    assert compact("pre", "--out", "pre-parquet") == 0
    capsys.readouterr()
    written = (tmp_path / "parquet").rglob("*.parquet")
    parts = sorted(path.relative_to(tmp_path / "parquet").parts[:2] for path in written)
    assert ("replica=replica-0", "day=2023-11-14") in parts
    assert ("replica=replica-1", "day=2023-11-15") in parts

    names = {"log": "parquet", "pre": "pre-parquet"}
    outputs = run_report(tmp_path, names, tmp_path / "run", monkeypatch, capsys)
    for name, text in outputs.items():
        assert text == expected(name), name


def manifest(folder: Path) -> dict:
    return json.loads((folder / MANIFEST).read_text())


def report(log: str, out: str, capsys) -> str:
    assert ab_main([log, "--experiment", "AB", "--out", out]) == 0
    return capsys.readouterr().out


def test_a_rerun_adds_only_what_is_new(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    live = Path("log/replica-0/events.jsonl")
    arms = ["C", "T1"]

    def session(user: int, start: int) -> list[dict]:
        arm = arms[user % 2]
        nexts = [event(user, start + i, arm=arm, time=0.1 * (i + 1)) for i in range(3)]
        return [*nexts, event(user, start + 3, "last", arm=arm)]

    write_events(live, [e for user in range(20) for e in session(user, 1_000 * user)])
    assert compact("log", "--out", "pq") == 0
    first = manifest(Path("pq"))
    assert [s["lines"] for s in first["sources"]] == [80]

    # the service goes on: more lines, a rotation (renamed, not compacted again), a line being
    # written at the end of the new live file
    with live.open("a") as file:
        file.write("".join(json.dumps(e) + "\n" for e in session(20, 30_000)))
    live.rename("log/replica-0/events.jsonl.1")
    more = [e for user in range(21, 30) for e in session(user, 40_000 + 100 * user)]
    write_events(live, more)
    with live.open("a") as file:
        file.write('{"message": "next", "timestamp": 99')
    assert compact("log", "--out", "pq") == 0
    said = capsys.readouterr().out
    assert "2 log files (1 new), 40 new lines: 40 rows written" in said
    assert "cut final line left for the next run in: log/replica-0/events.jsonl" in said
    second = manifest(Path("pq"))
    assert [(s["path"], s["lines"]) for s in second["sources"]] == [
        ("log/replica-0/events.jsonl.1", 84),
        ("log/replica-0/events.jsonl", 36),
    ]
    assert second["files"][: len(first["files"])] == first["files"]
    assert report("pq", "r1", capsys) == report("log", "r2", capsys)

    # the cut line is finished and another follows; then nothing new
    with live.open("a") as file:
        rest = '0, "user": 29, "track": 1, "time": 0.5, "latency": 0.001, "recommendation": 2, '
        rest += '"experiments": {"AB": "T1"}, "recommender": "top_pop"}\n'
        file.write(rest + json.dumps(event(29, 99_001, "last", arm="T1")) + "\n")
    assert compact("log", "--out", "pq") == 0
    assert "1 new), 2 new lines: 2 rows" in capsys.readouterr().out.replace("(0 new)", "1 new)")
    assert report("pq", "r3", capsys) == report("log", "r4", capsys)
    rows = pl.read_parquet(sorted(Path("pq").rglob("*.parquet")))
    assert rows.select("source", "line").is_duplicated().sum() == 0  # no line twice
    files = sorted(Path("pq").rglob("*.parquet"))
    assert compact("log", "--out", "pq") == 0
    assert "nothing new since the last run" in capsys.readouterr().out
    assert sorted(Path("pq").rglob("*.parquet")) == files


def test_a_stray_file_of_a_stopped_run_is_removed(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    write_events(Path("log/events.jsonl"), [event(1, 1), event(1, 2, "last")])
    assert compact("log", "--out", "pq") == 0
    stray = Path("pq/replica=log/day=1970-01-01/0-2-0.parquet")
    pl.DataFrame({"x": [1]}).write_parquet(stray)
    write_events(Path("log/events.jsonl.1"), [event(2, 1), event(2, 2, "last")])
    assert compact("log", "--out", "pq") == 0
    assert not stray.exists()
    assert len(manifest(Path("pq"))["sources"]) == 2


@pytest.mark.parametrize(
    "setup, args, message",
    [
        (lambda: None, ["nowhere", "--out", "pq"], "no such file or folder: nowhere"),
        (lambda: Path("pq").write_text("x"), ["log", "--out", "pq"], "--out pq is a file"),
        (
            lambda: (Path("pq").mkdir(), Path("pq/notes.txt").write_text("x")),
            ["log", "--out", "pq"],
            "--out pq is not empty and not a compacted folder",
        ),
        (
            lambda: compact("log", "--out", "pq") or write_events(Path("other/x.jsonl"), []),
            ["other", "--out", "pq"],
            "--out pq holds the compaction of log, not of other",
        ),
        (
            lambda: compact("log", "--out", "pq") or write_events(LIVE, [event(1, 1)]),
            ["log", "--out", "pq"],
            "log/events.jsonl is shorter (165 bytes) than what was compacted from it (330)",
        ),
        (lambda: None, ["log"], "the following arguments are required: --out"),
    ],
)
def test_bad_input_is_one_clear_line(tmp_path, monkeypatch, capsys, setup, args, message):
    monkeypatch.chdir(tmp_path)
    write_events(LIVE, [event(1, 1), event(1, 2, "last")])
    (Path("log") / LOST_FILE).write_text("")
    setup()
    capsys.readouterr()
    assert compact(*args) == 2
    err = capsys.readouterr().err
    assert err.startswith("botify logs: ") and message in err and len(err.splitlines()) == 1


def test_botify_train_learns_the_same_files_from_the_parquet_folder(tmp_path, monkeypatch, capsys):
    from offline.learn.train import main as train
    from tests.train.helpers import log_events, write_catalog

    monkeypatch.chdir(tmp_path)
    catalog = write_catalog(Path("tracks.json"), [t // 4 for t in range(40)])
    listens = [(user, [(0, 1.0), (1, 0.9), (8 + user % 30, 0.4)]) for user in range(30)]
    events = log_events(listens)
    write_events(Path("log/replica-0/events.jsonl.1"), events[::2][:20])
    write_events(Path("log/replica-0/events.jsonl"), events[::2][20:])
    write_events(Path("log/replica-1/events.jsonl"), [*events[1::2], events[1]])  # a duplicate
    Path("log/replica-1/events.jsonl").open("a").write("{not json\n")
    assert compact("log", "--out", "pq") == 0
    capsys.readouterr()
    args = ["--catalog", str(catalog), "--model", "top,i2i", "--max-bad-lines", "0.05"]
    assert train(["log", "--out", "from-log", *args]) == 0
    from_log = capsys.readouterr().out
    assert train(["pq", "--out", "from-parquet", *args]) == 0
    # the same summary and evaluation; the last line names the folder and the seconds taken
    assert capsys.readouterr().out.splitlines()[:-1] == from_log.splitlines()[:-1]
    assert "1 duplicate lines" in from_log and "1 unreadable lines" in from_log
    written = sorted(path.name for path in Path("from-log").iterdir())
    assert "i2i.json" in written and "top_tracks.json" in written
    for name in written:
        # botify_data.json names the files by their folder
        learned = (Path("from-parquet") / name).read_text().replace("from-parquet", "from-log")
        assert learned == (Path("from-log") / name).read_text(), name


def test_botify_plan_reads_the_parquet_folder(tmp_path, monkeypatch, capsys):
    from offline.report.plan import main as plan

    write_awkward_log(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert compact("log", "--out", "parquet") == 0
    capsys.readouterr()
    assert plan(["log", "--mde", "5%"]) == 0
    from_log = capsys.readouterr().out
    assert plan(["parquet", "--mde", "5%"]) == 0
    assert capsys.readouterr().out == from_log
    assert "Population: 300 users" in from_log
