"""`botify ope` on logs served in-process with exploration: toy listeners (on the small dataset:
artist k has tracks 5k..5k+4) who listen 0.9 of a track by the playing track's artist and 0.1
of any other, so a chain's true mean listened fraction per request is known."""

import json

import pytest

from botify.config import load_config
from botify.eventlog import EventLog
from botify.inprocess import InProcessRecommender
from offline.report.ope import main
from tests.conftest import small_dataset, write_config

STICKY = {"recommender": "sticky_artist", "no_repeat": True}


def listened(prev: int, track: int) -> float:
    return 0.9 if track // 5 == prev // 5 else 0.1


def serve_day(tmp_path, name: str, chain: list, sessions: int = 400, seed: int = 1):
    """A day of 3-step sessions served by `chain` and logged; (log folder, config path)."""
    folder = tmp_path / name
    folder.mkdir()
    config = write_config(
        folder,
        data=small_dataset(tmp_path / "data"),
        experiments=[{"name": "E", "arms": {"C": chain}}],
    )
    clock = iter(range(10**9))
    events = EventLog(folder / "log", max_bytes=0, backups=0)
    service = InProcessRecommender(
        load_config(config), seed=seed, events=events, clock_ms=lambda: next(clock)
    )
    rewards = []
    for session in range(sessions):
        user, track, time = session % 50, (session * 7) % 100, 1.0
        for _ in range(3):
            served = service.recommend_next(user, track, time)
            time = listened(track, served)
            rewards.append(time)
            track = served
        service.end_session(user, track, time)
    events.close()
    return folder / "log", config, sum(rewards) / len(rewards)


def ope(capsys, *args) -> tuple[int, dict | str]:
    code = main([*map(str, args), "--json"])
    out, err = capsys.readouterr()
    return code, json.loads(out) if code == 0 else err


def test_estimates_of_another_chain_cover_its_measured_value(tmp_path, capsys):
    explore = {**STICKY, "explore": {"probability": 0.5, "from": "catalog"}}
    log, _, logged_truth = serve_day(tmp_path, "explore", [explore])
    _, sticky_config, sticky_truth = serve_day(tmp_path, "sticky", [STICKY], seed=2)
    assert sticky_truth == pytest.approx(0.9) and logged_truth < 0.6
    code, result = ope(capsys, log, "--config", sticky_config)
    assert code == 0 and result["requests"] == 1200
    assert result["logged"] == pytest.approx(logged_truth)
    by_method = {row["method"]: row for row in result["estimates"]}
    assert set(by_method) == {"IPS", "SNIPS", "DR"}
    for row in by_method.values():
        assert row["low"] - 1e-9 <= sticky_truth <= row["high"] + 1e-9, row
        assert row["value"] == pytest.approx(sticky_truth, abs=0.1)
        assert 300 < row["ess"] < 1200  # about half the requests are sticky's own picks
    # sessions of 3 requests: sticky's session time is 3 x 0.9
    assert result["sessions"] == 400 and result["logged_session_time"] == pytest.approx(
        3 * logged_truth
    )
    for row in result["session_estimates"]:
        assert row["low"] - 1e-9 <= 3 * sticky_truth <= row["high"] + 1e-9, row
        assert 10 < row["ess"] < 100  # the product of 3 weights: about 1 in 8 sessions


def test_a_log_without_propensities_or_a_bad_arm_is_refused(tmp_path, capsys):
    log, config, _ = serve_day(tmp_path, "sticky", [STICKY], sessions=20)
    lines = (log / "events.jsonl").read_text().splitlines()
    old = tmp_path / "old.jsonl"
    old.write_text(
        "".join(json.dumps({**json.loads(line), "propensity": None}) + "\n" for line in lines)
    )
    code, err = ope(capsys, old, "--config", config)
    assert code == 2 and "have no 'propensity'" in err and "Traceback" not in err
    code, err = ope(capsys, log, "--config", config, "--arm", "T9")
    assert code == 2 and "T9" in err
    code, result = ope(capsys, log, "--config", config, "--where", "E=C")
    assert code == 0 and result["requests"] == 60
    code, err = ope(capsys, log, "--config", config, "--where", "E=T1")
    assert code == 2 and "no events in arm T1 of experiment E" in err
    code, err = ope(capsys, tmp_path / "nowhere", "--config", config)
    assert code == 2 and "nowhere" in err


def test_a_missing_or_broken_config_is_named_once(tmp_path, capsys):
    log, config, _ = serve_day(tmp_path, "sticky", [STICKY], sessions=20)
    missing = tmp_path / "no_such_config.json"
    code, err = ope(capsys, log, "--config", missing)
    assert code == 2 and err.count(str(missing)) == 1 and "no such config file" in err
    broken = tmp_path / "broken.json"
    values = json.loads(config.read_text())
    broken.write_text(json.dumps({**values, "experiments": [{"name": "E", "arms": {"C": []}}]}))
    code, err = ope(capsys, log, "--config", broken)
    assert code == 2 and err.count(str(broken)) == 1  # the chain's error, with the file in front


def test_the_printed_session_estimates_name_their_count(tmp_path, capsys):
    log, config, _ = serve_day(tmp_path, "sticky", [STICKY], sessions=20)
    assert main([str(log), "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "Mean session time in the simulator's count (without the first track)" in out
