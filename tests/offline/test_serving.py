"""The report's account of the service: which link answered each arm, which failed, the data
versions, and the events the log lost; on a log written by botify's own Service."""

from __future__ import annotations

import json

from botify.config import load_config
from botify.lognames import LOST_FILE
from lab.synthetic import write_scripted_log
from offline.report.ab import main
from tests.conftest import small_dataset, write_broken_plugin, write_config


def served_log(tmp_path, monkeypatch, t1_chain) -> tuple:
    write_broken_plugin(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    config_path = write_config(
        tmp_path,
        data=small_dataset(tmp_path / "data"),
        experiments=[
            {
                "name": "AB",
                "arms": {
                    "C": [{"recommender": "contextual", "source": "i2i"}],
                    "T1": t1_chain,
                },
            }
        ],
    )
    write_scripted_log(load_config(config_path), tmp_path / "log", users=300, tracks=6)
    return config_path, tmp_path / "log"


def test_an_arm_whose_recommender_raises_is_flagged_on_top(tmp_path, monkeypatch, capsys):
    config, logs = served_log(tmp_path, monkeypatch, [{"recommender": "broken_recs:Broken"}])
    code = main([str(logs), "--experiment", "AB", "--out", str(tmp_path / "r"), "--config",
                 str(config)])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    top = out.split("\n\n")[1:3]
    assert any("arm T1: link `broken_recs:Broken` failed on" in line for line in top), top
    assert any("its own recommender `broken_recs:Broken` answered 0 of" in line for line in top)
    assert "botify ab: warning: arm T1: link `broken_recs:Broken` failed" in err
    assert "| T1 | `random` |" in out and "| C | `contextual` (own) |" in out
    assert "lost" not in out.split("## Arms")[0]


def test_without_the_config_failures_are_still_flagged(tmp_path, monkeypatch, capsys):
    _, logs = served_log(tmp_path, monkeypatch, [{"recommender": "broken_recs:Broken"}])
    assert main([str(logs), "--experiment", "AB", "--out", str(tmp_path / "r")]) == 0
    out, _ = capsys.readouterr()
    assert "arm T1: link `broken_recs:Broken` failed on" in out
    assert "own recommender" not in out


def test_lost_events_and_changed_data_are_flagged(tmp_path, monkeypatch, capsys):
    _, logs = served_log(tmp_path, monkeypatch, [{"recommender": "top_pop"}])
    lines = (logs / "events.jsonl").read_text().splitlines()
    events = [json.loads(line) for line in lines]
    half = len(events) // 2
    for event in events[half:]:
        event["data_version"] = "2-0badcafe"
    (logs / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    span = (events[10]["timestamp"], events[20]["timestamp"])
    (logs / LOST_FILE).write_text(
        json.dumps(
            {
                "lost": 42,
                "from_timestamp": span[0],
                "to_timestamp": span[1],
                "error": "No space left on device (OSError)",
            }
        )
        + "\n"  # fmt: skip
    )
    assert main([str(logs), "--experiment", "AB", "--out", str(tmp_path / "r")]) == 0
    out, _ = capsys.readouterr()
    head = out.split("## Arms")[0]
    assert "the service's event log lost 42 events" in head and "No space left" in head
    assert "the data changed during the experiment: 2 data versions (memory, 2-0badcafe)" in head
    assert "| events lost by the log | **42** (see above) |" in head


def test_losses_after_the_last_logged_line_are_counted_too(tmp_path, monkeypatch, capsys):
    """A disk that filled and stayed full: the losses fall after everything logged."""
    _, logs = served_log(tmp_path, monkeypatch, [{"recommender": "top_pop"}])
    events = [json.loads(line) for line in (logs / "events.jsonl").read_text().splitlines()]
    first, last = events[0]["timestamp"], events[-1]["timestamp"]
    records = [
        {"lost": 5, "from_timestamp": first - 900, "to_timestamp": first - 100},
        {"lost": 7, "from_timestamp": first, "to_timestamp": last},
        {"lost": 3157, "from_timestamp": last + 2, "to_timestamp": last + 60_000},
    ]
    (logs / LOST_FILE).write_text(
        "".join(
            json.dumps({**r, "error": "No space left on device (OSError)"}) + "\n" for r in records
        )
    )
    assert main([str(logs), "--experiment", "AB", "--out", str(tmp_path / "r")]) == 0
    head = capsys.readouterr()[0].split("## Arms")[0]
    assert (
        "the service's event log lost 3,169 events (5 before, 7 within, 3,157 after the logged span"
        in head
    )
    assert "| events lost by the log | **3,169** (see above) |" in head


def test_a_broken_loss_record_is_named(tmp_path, monkeypatch, capsys):
    _, logs = served_log(tmp_path, monkeypatch, [{"recommender": "top_pop"}])
    (logs / LOST_FILE).write_text("not json\n")
    assert main([str(logs), "--experiment", "AB", "--out", str(tmp_path / "r")]) == 2
    assert f"{logs / LOST_FILE}:1: not a loss record" in capsys.readouterr().err


def test_a_log_still_failing_at_its_last_record_says_what_is_unknown(tmp_path, monkeypatch, capsys):
    """The newest loss record of a folder says the log was still failing (a disk that stayed
    full, recorded in the reserve's space): the report says after when it cannot know."""
    _, logs = served_log(tmp_path, monkeypatch, [{"recommender": "top_pop"}])
    events = [json.loads(line) for line in (logs / "events.jsonl").read_text().splitlines()]
    last = events[-1]["timestamp"]
    records = [
        {"lost": 4, "from_timestamp": last - 500, "to_timestamp": last - 400, "recorded_at": 1,
         "still_failing": False},
        {"lost": 9, "from_timestamp": last + 2, "to_timestamp": last + 30_000,
         "recorded_at": last + 31_000, "still_failing": True},
    ]  # fmt: skip
    (logs / LOST_FILE).write_text(
        "".join(
            json.dumps({**r, "error": "No space left on device (OSError)"}) + "\n" for r in records
        )
    )
    assert main([str(logs), "--experiment", "AB", "--out", str(tmp_path / "r")]) == 0
    head = capsys.readouterr()[0].split("## Arms")[0]
    assert "the service's event log lost 13 events" in head
    assert "was still failing (No space left on device (OSError)) when its last loss" in head
    assert "the events answered after that are unknown" in head
    # A later record that is not failing any more: nothing unknown.
    records.append({**records[1], "recorded_at": last + 90_000, "still_failing": False})
    (logs / LOST_FILE).write_text("".join(json.dumps({**r, "error": "x"}) + "\n" for r in records))
    assert main([str(logs), "--experiment", "AB", "--out", str(tmp_path / "r2")]) == 0
    assert "unknown" not in capsys.readouterr()[0].split("## Arms")[0]
