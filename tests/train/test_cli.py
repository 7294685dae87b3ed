"""`botify train` end to end: logs in, files out that botify's own reader and loader accept; bad
input gives one clear line, a non-zero exit and no half-written file."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import redis

from botify.config import load_config
from botify.data import DataView
from botify.dataset import read_dataset
from botify.loader import load
from botify.store import RedisStore
from offline.learn.train import main
from tests.conftest import ROOT, write_config
from tests.train.helpers import log_events, session_events, write_catalog, write_events

ARTISTS = [t // 4 for t in range(40)]  # artist k has tracks 4k..4k+3
GENRES = [a % 2 for a in ARTISTS]


def sessions(n_users: int = 30):
    """Each user: 0 -> 1 -> 2 heard (1 always follows 0), then tracks of their own."""
    out = []
    for user in range(n_users):
        extra = 8 + user % 30
        out.append((user, [(0, 1.0), (1, 0.95), (2, 0.9), (extra, 0.4)]))
        out.append((user, [(extra, 1.0), (extra + 1, 0.7), (0, 0.6), (1, 0.9)]))
    return out


@pytest.fixture
def catalog(tmp_path):
    return write_catalog(tmp_path / "data" / "tracks.json", ARTISTS, GENRES)


@pytest.fixture
def log_dir(tmp_path):
    """The log as two replicas with a rotated file each; a user's sessions span replicas."""
    events = log_events(sessions())
    folder = tmp_path / "log"
    for replica in range(2):
        mine = [e for i, e in enumerate(events) if i % 2 == replica]
        half = len(mine) // 2
        write_events(folder / f"replica-{replica}" / "events.jsonl.1", mine[:half])
        write_events(folder / f"replica-{replica}" / "events.jsonl", mine[half:])
    return folder


def train(*args) -> int:
    return main([str(a) for a in args])


def test_writes_files_that_botify_reads(tmp_path, catalog, log_dir, capsys):
    out = tmp_path / "out"
    assert train(log_dir, "--catalog", catalog, "--out", out) == 0
    printed = capsys.readouterr().out
    assert "| TopPop (plays) |" in printed and "| i2i blend |" in printed
    assert "240 listens, 30 users, 60 sessions" in printed

    data = json.loads((out / "botify_data.json").read_text())
    dataset = read_dataset(
        data["catalog"],
        data["top_tracks"],
        data["item_recommendations"],
        data["user_recommendations"],
    )
    assert dataset.dropped == {}
    # 1 is heard 0.95 and 0.9 in 30 sessions each, 0 fully in 30 and 0.6 in 30.
    assert dataset.top_tracks[:2].tolist() == [1, 0]
    assert dataset.items["i2i"].get(0)[0] == 1
    assert len(dataset.users["als"]) == 30
    assert len(dataset.users["als"].get(5)) > 0
    assert not list(out.glob(".*partial"))


def test_meta_says_what_was_learned_from_what(tmp_path, catalog, log_dir):
    out = tmp_path / "out"
    assert train(log_dir, "--catalog", catalog, "--out", out, "--factors", "8") == 0
    for name, model in (("top_tracks", "top"), ("i2i", "i2i"), ("users", "users")):
        meta = json.loads((out / f"{name}.meta.json").read_text())
        assert meta["model"] == model and meta["file"] == f"{name}.json"
        assert len(meta["logs"]) == 4 and all("events.jsonl" in f for f in meta["logs"])
        assert meta["log"]["listens"] == 240 and meta["log"]["single_event_users"] == 0
        models = [s["model"] for s in meta["evaluation"]["scores"]]
        assert models[0] == "TopPop (plays)" and len(models) > 1
    i2i = json.loads((out / "i2i.meta.json").read_text())
    assert i2i["parameters"]["method"] == "blend"
    assert {s["model"] for s in i2i["evaluation"]["scores"]} >= {"i2i next", "i2i catalog"}
    users = json.loads((out / "users.meta.json").read_text())
    assert users["parameters"]["factors"] == 8


def test_one_model_and_one_method(tmp_path, catalog, log_dir):
    out = tmp_path / "out"
    code = train(log_dir, "--catalog", catalog, "--out", out, "--model", "i2i", "--i2i", "next",
                 "--holdout", "0")  # fmt: skip
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == ["botify_data.json", "i2i.json",
                                                     "i2i.meta.json"]  # fmt: skip
    first = json.loads((out / "i2i.json").read_text().splitlines()[0])
    assert first == {"track": 0, "recommendations": [1]}
    assert json.loads((out / "i2i.meta.json").read_text())["evaluation"] is None


def test_affinity_lists_and_what_they_learned(tmp_path, catalog, log_dir):
    out = tmp_path / "out"
    code = train(log_dir, "--catalog", catalog, "--out", out, "--model", "i2i", "--i2i",
                 "affinity", "--holdout", "0")  # fmt: skip
    assert code == 0
    lists = [json.loads(line) for line in (out / "i2i.json").read_text().splitlines()]
    first = lists[0]
    # Track 0's artist's others lead (its 2nd and 3rd plays are worth 0.95 and 0.9 in the
    # logs), then other artists' tracks.
    assert first["recommendations"][:2] == [1, 2]
    assert any(ARTISTS[t] != 0 for t in first["recommendations"])
    learned = json.loads((out / "i2i.meta.json").read_text())["parameters"]["learned_affinity"]
    assert learned["pairs"] > 0 and learned["repeat_means"][0] > learned["mate_mean"]


def test_loaded_into_redis_by_botify_load(tmp_path, catalog, log_dir, redis_url):
    out = tmp_path / "out"
    assert train(log_dir, "--catalog", catalog, "--out", out, "--holdout", "0") == 0
    data = json.loads((out / "botify_data.json").read_text())
    config = load_config(
        write_config(tmp_path, redis_url=redis_url, data=data, log_dir=str(tmp_path / "l"))
    )
    client = redis.Redis.from_url(redis_url)
    version, _, dataset = load(config, client, grace=0)
    assert dataset is not None
    view = DataView(RedisStore(client, namespace=config["namespace"]))
    expected = [json.loads(line) for line in (out / "i2i.json").read_text().splitlines()]
    for row in expected[:5]:
        stored = view.item_recommendations("i2i", row["track"])
        assert stored.tolist() == row["recommendations"]
    users = [json.loads(line) for line in (out / "users.json").read_text().splitlines()]
    assert view.user_recommendations("als", users[0]["user"]).tolist() == users[0]["tracks"]
    assert view.top_tracks[:3].tolist() == json.loads((out / "top_tracks.json").read_text())[:3]


# -- bad input ---------------------------------------------------------------------------------


def failing(capsys, *args) -> str:
    """Runs the command, which must fail with status 2 and one line on stderr."""
    assert train(*args) == 2
    err = capsys.readouterr().err
    assert err.startswith("botify train: ") and err.count("\n") == 1, err
    return err


@pytest.fixture
def previous_output(tmp_path):
    """An output folder holding an earlier run's files, which a failed run must not touch."""
    out = tmp_path / "out"
    out.mkdir()
    for name in ("top_tracks.json", "i2i.json", "users.json"):
        (out / name).write_text("earlier\n")
    return out


def untouched(out) -> bool:
    names = sorted(p.name for p in out.iterdir())
    contents = {(out / n).read_text() for n in names}
    return names == ["i2i.json", "top_tracks.json", "users.json"] and contents == {"earlier\n"}


def test_empty_log(tmp_path, capsys, catalog, previous_output):
    empty = tmp_path / "empty" / "events.jsonl"
    empty.parent.mkdir()
    empty.write_text("")
    err = failing(capsys, empty.parent, "--catalog", catalog, "--out", previous_output)
    assert "no events in" in err
    assert untouched(previous_output)


def test_folder_without_logs_and_missing_file(tmp_path, capsys, catalog):
    (tmp_path / "nothing").mkdir()
    err = failing(capsys, tmp_path / "nothing", "--catalog", catalog, "--out", tmp_path / "o")
    assert "no event log files" in err
    err = failing(capsys, tmp_path / "missing.jsonl", "--catalog", catalog, "--out", tmp_path / "o")
    assert "no such file or folder" in err


def test_catalog_that_does_not_parse(tmp_path, capsys, log_dir, previous_output):
    bad = tmp_path / "bad.json"
    bad.write_text('{"track": 0, "artist": "a", "title": "t"}\n{"track": 1, "artist": \n')
    err = failing(capsys, log_dir, "--catalog", bad, "--out", previous_output)
    assert f"catalog: {bad}:2: not valid JSON" in err
    assert untouched(previous_output)
    err = failing(capsys, log_dir, "--catalog", tmp_path / "none.json", "--out", previous_output)
    assert "no such file" in err


def test_tracks_outside_the_catalog(tmp_path, capsys, catalog):
    events = log_events(sessions())
    for event in events[:40]:
        event["track"] += 1000  # 40 of 240 events name tracks the catalog does not have
    write_events(tmp_path / "log" / "events.jsonl", events)
    err = failing(capsys, tmp_path / "log", "--catalog", catalog, "--out", tmp_path / "out")
    assert "40 of 240 events (16.67%) name tracks that are not in the catalog" in err
    assert "e.g. 1000, 1001, 1002" in err
    assert not (tmp_path / "out").exists()
    # Allowed: skipped, counted, and the listens around them not taken as consecutive.
    out = tmp_path / "out"
    args = ["--catalog", catalog, "--out", out, "--max-unknown-tracks", "0.2", "--holdout", "0"]
    assert train(tmp_path / "log", *args) == 0
    meta = json.loads((out / "i2i.meta.json").read_text())
    assert meta["log"]["unknown_track_events"] == 40 and meta["log"]["listens"] == 200
    assert "skipped 40 events with tracks outside the catalog" in capsys.readouterr().out


def test_users_with_a_single_event_are_skipped_and_counted(tmp_path, capsys, catalog):
    events = log_events(sessions())
    lonely = [session_events(500 + u, [(3, 1.0)], 1_800_000_000_000 + u)[0] for u in range(3)]
    write_events(tmp_path / "log" / "events.jsonl", events + lonely)
    out = tmp_path / "out"
    assert train(tmp_path / "log", "--catalog", catalog, "--out", out) == 0
    assert "skipped 3 users with a single event" in capsys.readouterr().out
    meta = json.loads((out / "users.meta.json").read_text())
    assert meta["log"]["single_event_users"] == 3 and meta["log"]["users"] == 30
    users = {json.loads(line)["user"] for line in (out / "users.json").read_text().splitlines()}
    assert not users & {500, 501, 502}


def test_only_single_events(tmp_path, capsys, catalog, previous_output):
    lonely = [session_events(u, [(3, 1.0)], 1_800_000_000_000 + u)[0] for u in range(3)]
    write_events(tmp_path / "log" / "events.jsonl", lonely)
    err = failing(capsys, tmp_path / "log", "--catalog", catalog, "--out", previous_output)
    assert "every user has a single event" in err
    assert untouched(previous_output)


def test_unreadable_lines(tmp_path, capsys, catalog):
    events = log_events(sessions())
    lines = [json.dumps(e) for e in events]
    lines[5] = "not json"
    lines[9] = json.dumps({**events[9], "track": "seven"})
    lines[11] = "[1, 2]"
    path = tmp_path / "log" / "events.jsonl"
    path.parent.mkdir()
    # A final line cut off by copying a live log is counted on its own.
    path.write_text("\n".join(lines) + '\n{"message": "next", "tim')
    err = failing(capsys, path, "--catalog", catalog, "--out", tmp_path / "out")
    assert "3 of 240 log lines (1.25%) are not usable events, above --max-bad-lines" in err
    assert f"{path}:6, {path}:10, {path}:12" in err
    args = ["--catalog", catalog, "--out", tmp_path / "out", "--max-bad-lines", "0.05"]
    assert train(path, *args) == 0
    printed = capsys.readouterr().out
    assert "skipped 3 unreadable lines" in printed and "1 cut final lines" in printed


def test_events_need_no_latency_or_experiments(tmp_path, capsys, catalog):
    """Training reads the fields it uses; the A/B report's `latency` and `experiments` may be
    missing or of any type."""
    events = log_events(sessions())
    for i, event in enumerate(events):
        del event["latency"]
        if i % 2:
            del event["experiments"]
        else:
            event["experiments"] = "not an object"
    write_events(tmp_path / "log" / "events.jsonl", events)
    out = tmp_path / "out"
    args = ["--catalog", catalog, "--out", out, "--model", "top", "--holdout", "0"]
    assert train(tmp_path / "log", *args) == 0
    printed = capsys.readouterr().out
    assert "240 listens, 30 users, 60 sessions" in printed and "skipped" not in printed


def test_bad_options(tmp_path, capsys, catalog, log_dir):
    base = [log_dir, "--catalog", catalog, "--out", tmp_path / "out"]
    assert "--holdout" in failing(capsys, *base, "--holdout", "1.5")
    assert "--model" in failing(capsys, *base, "--model", "svd")
    assert "--weights" in failing(capsys, *base, "--weights", "next=1,magic=2")
    assert "--i2i-n" in failing(capsys, *base, "--i2i-n", "0")
    assert "--affinity-bonus" in failing(capsys, *base, "--affinity-bonus", "-1")
    assert "--affinity-variants" in failing(capsys, *base, "--affinity-variants", "0")
    assert "--catalog" in failing(capsys, log_dir, "--out", tmp_path / "out")


def test_out_that_cannot_be_written(tmp_path, capsys, catalog, log_dir):
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")
    err = failing(capsys, log_dir, "--catalog", catalog, "--out", blocker / "out")
    assert "cannot create --out" in err


def test_a_run_that_fails_while_writing_leaves_the_earlier_files(
    tmp_path, catalog, log_dir, previous_output, monkeypatch
):
    def broken(*args, **kwargs):
        yield '{"track": 0, "recommendations": [1]}\n'
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("offline.learn.train.list_lines", broken)
    assert train(log_dir, "--catalog", catalog, "--out", previous_output) == 2
    assert untouched(previous_output)  # no .partial left either


def test_no_traceback_from_the_command(tmp_path, catalog):
    result = subprocess.run(
        [sys.executable, "-m", "lab", "train", str(tmp_path / "nope"), "--catalog",
         str(catalog), "--out", str(tmp_path / "out")],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr == f"botify train: no such file or folder: {tmp_path / 'nope'}\n"
