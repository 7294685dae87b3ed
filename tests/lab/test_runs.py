"""`botify runs`: the registry read from run folders written by the experiment's own writers
(lab.days' configs, lab.summary's summary, botify ab's effects table; a real learning loop,
`botify experiment --days 2`), and MLflow's file store."""

from __future__ import annotations

import csv
import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from botify.config import load_config
from lab.days import Size, day1_config, day2_config, sim_config
from lab.days_loop import main as days_loop
from lab.registry import main
from lab.runs import DAYS_ID_FORMAT, ID_FORMAT, read_runs
from lab.summary import summary
from lab.synthetic import events_frame, make_users, simulate
from offline.report.effects import effects_table
from offline.report.metrics import unit_metrics
from offline.report.text import write_csv
from tests.conftest import ROOT

ROUTING = "STICKY_VS_LEARNED"


def write_effects(folder: Path, seed: int, effect: float) -> None:
    events = simulate(make_users(600, seed=seed), {"AB": 2}, seed=seed, effects={"T1": effect})
    units = unit_metrics(events_frame(events)).units
    folder.mkdir(parents=True)
    write_csv(effects_table(units, ["C", "T1"], "C", 0.05), folder / "effects.csv")


def meta(model: str, parameters: dict, ndcg: float) -> dict:
    """A learned file's meta as offline.learn.train writes it (the fields the registry reads)."""
    score = {"cases": 100, "coverage": 1.0, "hit_rate": 2 * ndcg, "ndcg": ndcg}
    return {
        "model": model,
        "file": f"{model}.json",
        "trained_at": "2026-01-01T00:00:00+00:00",
        "logs": ["logs/day1/events.jsonl"],
        "log": {"events": 1234},
        "catalog_tracks": 3000,
        "parameters": parameters,
        "rows": 3000,
        "evaluation": {
            "scores": [
                {"model": "TopPop (plays)", **score, "ndcg": 0.01},
                {"model": f"{model} {parameters.get('method', '')}".strip(), **score},
            ]
        },
    }


def write_run(runs: Path, run_id: str, history: int, n: int, sessions: int, whole=True) -> Path:
    """A run folder as `botify experiment` leaves it (without logs and learned files, which the
    registry never reads)."""
    run = runs / run_id
    model = run / "model"
    model.mkdir(parents=True)
    values = json.loads((ROOT / "config.json").read_text())
    values["experiments"][0]["arms"]["T1"][0]["history"] = history
    (run / "base.json").write_text(json.dumps(values))
    base = load_config(run / "base.json")
    world = runs.parent / "world"
    day1_config(base, run, world, "redis://127.0.0.1:1234")
    sim_config(run, world)
    (model / "botify_data.json").write_text(
        json.dumps({"top_tracks": str(model / "top_tracks.json")})
    )
    day2_config(base, run, world, "redis://127.0.0.1:5678", model)
    (model / "i2i.meta.json").write_text(json.dumps(meta("i2i", {"method": "blend", "n": n}, 0.2)))
    (model / "top_tracks.meta.json").write_text(json.dumps(meta("top_tracks", {}, 0.013)))
    if whole:
        write_effects(run / "aa_day1", seed=n, effect=0.0)
        write_effects(run / "ab", seed=n + 1, effect=0.1)
        size = Size(3000, 600, 1500, sessions)
        (run / "summary.md").write_text(summary(run, ROUTING, size, 42, 71.4))
    return run


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("registry") / "runs"
    write_run(folder, "20260101-090000", history=5, n=50, sessions=3000)
    write_run(folder, "20260101-100000", history=3, n=100, sessions=1500)
    write_run(folder, "20260102-080000", history=3, n=100, sessions=1500, whole=False)
    (folder / "latest").symlink_to("20260102-080000")
    (folder / "ab").mkdir()  # botify ab's default output: not a run
    return folder


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def rows(out: str) -> list[list[str]]:
    lines = [line for line in out.splitlines() if line.startswith(("| 2026", "| days-"))]
    return [[cell.strip() for cell in line.strip("|").split(" | ")] for line in lines]


def test_every_run_once_with_what_changed_since_the_one_before(runs, capsys):
    code, out, err = run(capsys, "--runs", runs)
    assert code == 0, err
    first, second, third = rows(out)
    assert [r[0] for r in (first, second, third)] == [
        "20260101-090000",
        "20260101-100000",
        "20260102-080000",
    ]
    assert first[1] == "2026-01-01 09:00" and first[3:6] == ["42", "3,000", "2"]
    assert first[2] == f"{runs.parent / 'world'} (3,000 tracks)"
    assert "T1: history_i2i > contextual > top_pop" in first[6]
    assert first[7] == "first run"
    effects = {r["metric"]: r for r in csv.DictReader(open(runs / first[0] / "ab/effects.csv"))}
    effect = f"{float(effects['mean_time_per_session']['effect']):+.2f}%"
    assert first[8].startswith("day 1: T1 vs C") and first[9].startswith(
        f"day 2: T1 vs C: {effect}"
    )
    assert first[10] == "i2i 0.200, top_tracks 0.013" and first[11] == "71 s"
    # summary.md's verdict is on the report's count of mean session time, and says so
    assert (
        "mean_time_per_session is the report's count"
        in (runs / first[0] / "summary.md").read_text()
    )
    changed = second[7]
    assert "sessions: 3000 -> 1500" in changed
    assert "config experiments.0.arms.T1.0.history: 5 -> 3" in changed
    assert "i2i.json parameters.n: 50 -> 100" in changed
    # the run that stopped early: what it lacks is shown missing, nothing guessed
    assert third[3] == "?" and third[9] == "missing" and third[11] == "incomplete"
    assert third[7] == "seed: 42 -> null; sessions: 1500 -> null"


def test_compare_lists_every_change_and_verdict(runs, capsys):
    code, out, err = run(capsys, "compare", "20260101-09", "20260101-10", "--runs", runs)
    assert code == 0, err
    assert "## What changed (3)" in out
    assert "- i2i.json parameters.n: 50 -> 100" in out
    assert "- config experiments.0.arms.T1.0.history: 5 -> 3" in out
    # the run folders' own paths and Redis' random port are not changes
    assert "log_dir" not in out and "redis_url" not in out
    assert "| verdicts of | A/A day 1, A/B day 2 | A/A day 1, A/B day 2 |" in out
    verdicts = [line for line in out.splitlines() if line.startswith(("| A/A", "| A/B"))]
    assert len(verdicts) == 10  # 5 metrics x (A/A, A/B)
    assert "| i2i.json | ndcg@10 | 0.2000 | 0.2000 |" in out
    code, out, _ = run(capsys, "compare", "-2", "latest", "--runs", runs)
    assert code == 0 and "# 20260101-100000 vs 20260102-080000" in out


def test_the_registry_reads_no_log(runs):
    # the reading of 3 runs touches only small files: a log in the folder changes nothing
    (runs / "20260101-090000" / "logs").mkdir(exist_ok=True)
    (runs / "20260101-090000" / "logs" / "events.jsonl").write_text("not json\n")
    assert [r.id for r in read_runs(runs)][0] == "20260101-090000"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["compare", "nope", "latest"], "'nope' is not a run"),
        (["compare", "2026", "latest"], "'2026' matches several runs"),
        (["compare", "-9", "latest"], "run '-9': there are 3 runs"),
        (["compare", "latest"], "the following arguments are required: B"),
        (["--frobnicate"], "unrecognized arguments"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(runs, capsys, argv, message):
    code, out, err = run(capsys, *argv, "--runs", runs)
    assert code == 2 and not out
    assert err.startswith("botify runs") and message in err and len(err.splitlines()) == 1


def test_a_missing_or_empty_runs_folder(tmp_path, capsys):
    code, _, err = run(capsys, "--runs", tmp_path / "none")
    assert code == 2 and f"no runs folder at {tmp_path / 'none'}" in err
    code, _, err = run(capsys, "--runs", tmp_path)
    assert code == 2 and f"no runs in {tmp_path} (" in err
    # the default folder, never named by the user: where it looked, and how to choose another
    for message in (err, run(capsys, "--runs", tmp_path / "none")[2]):
        assert (
            "--runs " not in message.split("(")[0]
            and "choose the runs folder with --runs" in message
        )


def test_runs_recorded_in_mlflow(runs, tmp_path, capsys):
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    store = tmp_path / "mlruns"
    code, out, err = run(capsys, "--runs", runs, "--mlflow", store)
    assert code == 0, err
    assert "3 new runs recorded in MLflow" in out
    code, out, _ = run(capsys, "--runs", runs, "--mlflow", store)
    assert "0 new runs recorded" in out  # recording again adds nothing

    client = MlflowClient(tracking_uri=store.as_uri())
    experiment = client.get_experiment_by_name("botify")
    found = {r.info.run_name: r for r in client.search_runs([experiment.experiment_id])}
    assert set(found) == {"20260101-090000", "20260101-100000", "20260102-080000"}
    second = found["20260101-100000"]
    assert second.data.params["sessions"] == "1500"
    assert second.data.params["config.experiments.0.arms.T1.0.history"] == "3"
    assert second.data.params["model.i2i.json.parameters.n"] == "100"
    effects = {
        r["metric"]: r for r in csv.DictReader(open(runs / "20260101-100000" / "ab/effects.csv"))
    }
    assert second.data.metrics["ab.T1.mean_time_per_session.effect"] == pytest.approx(
        float(effects["mean_time_per_session"]["effect"])
    )
    assert second.data.metrics["offline.i2i.json.ndcg"] == pytest.approx(0.2)
    assert second.info.status == "FINISHED"
    assert found["20260102-080000"].info.status == "FAILED"  # it stopped early
    artefacts = {a.path for a in client.list_artifacts(second.info.run_id)}
    assert {"summary.md", "ab", "model", "config.day2.json"} <= artefacts


@pytest.fixture(scope="module")
def mixed_runs(tmp_path_factory) -> Path:
    """A real learning loop (`botify experiment --quick --days 2`, 200 sessions a day) between
    two two-day runs by start time, runs/latest on the newer two-day run; and a copy of the
    loop that stopped during its day 2, started later still."""
    root = tmp_path_factory.mktemp("mixed")
    folder = root / "runs"
    loop_args = ["--quick", "--days", "2", "--sessions", "200", "--world", str(root / "world")]
    assert days_loop([*loop_args, "--out", str(folder)]) == 0
    (loop,) = folder.iterdir()
    started = datetime.strptime(loop.name, DAYS_ID_FORMAT)
    for hours, n in ((-1, 50), (1, 100)):
        write_run(folder, (started + timedelta(hours=hours)).strftime(ID_FORMAT), 5, n, 3000)
    (folder / "latest").symlink_to((started + timedelta(hours=1)).strftime(ID_FORMAT))
    stopped = folder / (started + timedelta(hours=2)).strftime(DAYS_ID_FORMAT)
    shutil.copytree(loop, stopped, ignore=shutil.ignore_patterns("report.md", "ab.day2.*"))
    return folder


def test_a_learning_loop_is_read_and_every_run_is_ordered_by_its_start(mixed_runs, capsys):
    code, out, err = run(capsys, "--runs", mixed_runs)
    assert code == 0, err
    earlier, loop, later, stopped = rows(out)
    # by start time, not by name (a name "days-..." sorts after every two-day run's)
    assert [earlier[0], later[0]] == sorted([earlier[0], later[0]])
    assert loop[0].startswith("days-") and stopped[0].startswith("days-")
    day2 = json.loads((mixed_runs / loop[0] / "trajectory.json").read_text())[-1]
    assert loop[1] == datetime.strptime(loop[0], DAYS_ID_FORMAT).strftime("%Y-%m-%d %H:%M")
    assert loop[3:6] == ["42", "200", "2"]
    assert "LOOP: C: sticky_artist; T1: replay > session_artists" in loop[6]
    assert loop[8].startswith("day 2: T1 vs C: ")  # the last day's A/A (AA2)
    assert loop[9].startswith(f"day 2: T1 vs C: {day2['effect']:+.2f}% ")
    assert loop[10] == "not evaluated"  # the loop trains with --holdout 0
    assert loop[11].endswith(" s")
    # the loop that stopped on day 2: day 1's verdicts, nothing guessed
    assert stopped[3:6] == ["?", "?", "?"] and stopped[11] == "incomplete"
    assert stopped[9].startswith("day 1: T1 vs C: ")


def test_minus_n_counts_by_start_and_latest_is_what_runs_latest_points_to(mixed_runs, capsys):
    ids = [r.id for r in read_runs(mixed_runs)]
    code, out, err = run(capsys, "compare", "-3", "latest", "--runs", mixed_runs)
    assert code == 0, err
    assert out.startswith(f"# {ids[1]} vs {ids[2]}\n")  # the loop, then runs/latest's run
    assert "| days | 2 | 2 |" in out
    assert "| verdicts of | A/A day 2, A/B day 2 | A/A day 1, A/B day 2 |" in out
    code, out, err = run(capsys, "compare", "latest", "-1", "--runs", mixed_runs)
    assert code == 0 and out.startswith(f"# {ids[2]} vs {ids[3]}\n"), err
