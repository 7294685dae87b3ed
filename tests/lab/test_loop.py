"""The daily loop on a small simulated world: a cold-start day logged in-process
(lab.simday), `botify train` on its log, then an A/B day of the learned chain against
Random that `botify ab` judges."""

from __future__ import annotations

import json

import polars as pl
import pytest
import yaml

from lab.simday import main as simday_main
from offline.learn.train import main as train_main
from offline.report.ab import main as ab_main
from sim.worldfiles import write_world
from sim.worldgen import WorldSpec, generate
from tests.conftest import write_config

SMALL = WorldSpec(tracks=3000, artists=600, users=400, genres=8, dim=32)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    folder = tmp_path_factory.mktemp("world")
    write_world(generate(SMALL, 7), folder)
    sim_config = folder / "sim.yaml"
    sim_config.write_text(yaml.safe_dump({"world": {"dir": str(folder)}}))
    return folder, sim_config


def botify_config(folder, arms: dict, data: dict | None = None):
    folder.mkdir(parents=True, exist_ok=True)
    return write_config(
        folder,
        data=data,
        log_dir=str(folder / "unused"),
        routing_experiment="DAY",
        experiments=[{"name": "DAY", "arms": arms}],
    )


def day(world, config, number: int, log) -> None:
    _, sim_config = world
    args = ["--botify-config", str(config), "--sim-config", str(sim_config)]
    args += ["--episodes", "400", "--day", str(number), "--seed", "3", "--log", str(log)]
    assert simday_main(args) == 0


def test_cold_start_train_and_ab_day(world, tmp_path, capsys):
    folder, _ = world
    catalog = {"catalog": str(folder / "tracks.json"), "item_recommendations": {},
               "user_recommendations": {}}  # fmt: skip
    cold = botify_config(tmp_path / "day1", {"C": [{"recommender": "sticky_artist",
                                                     "no_repeat": True}]}, catalog)  # fmt: skip
    day(world, cold, 1, tmp_path / "log1")
    assert "mean session time " in capsys.readouterr().out.split("(the simulator's count)")[0]

    events = pl.read_ndjson(tmp_path / "log1" / "events.jsonl")
    assert events.filter(pl.col("message") == "last").height == 400
    assert set(events.columns) >= {"message", "timestamp", "user", "track", "time", "latency",
                                   "recommendation", "experiments", "recommender"}  # fmt: skip
    # The user's next track is the service's answer.
    ordered = events.sort("user", "timestamp")
    follows = ordered.select(
        answer=pl.col("recommendation"),
        played=pl.col("track").shift(-1),
        same_user=pl.col("user") == pl.col("user").shift(-1),
        message=pl.col("message"),
    ).filter((pl.col("message") == "next") & pl.col("same_user"))
    assert (follows["answer"] == follows["played"]).all()

    model = tmp_path / "model"
    assert train_main([str(tmp_path / "log1"), "--catalog", str(folder / "tracks.json"),
                       "--out", str(model)]) == 0  # fmt: skip
    data = json.loads((model / "botify_data.json").read_text())
    learned = [
        {"recommender": "history_i2i", "source": "i2i", "history": 5, "ranked": True,
         "no_repeat": True},
        {"recommender": "contextual", "source": "i2i", "ranked": True, "no_repeat": True},
    ]  # fmt: skip
    ab = botify_config(tmp_path / "day2", {"C": [{"recommender": "random"}], "T1": learned}, data)
    day(world, ab, 2, tmp_path / "log2")
    capsys.readouterr()
    assert ab_main([str(tmp_path / "log2"), "--experiment", "DAY", "--out",
                    str(tmp_path / "ab")]) == 0  # fmt: skip
    report = capsys.readouterr().out
    row = next(line for line in report.splitlines() if "| mean_time_per_session |" in line)
    cells = [cell.strip() for cell in row.split("|")]
    control, treatment, significant = float(cells[3]), float(cells[4]), cells[7]
    assert treatment > 1.5 * control and significant == "**yes**", row


def test_histories_handed_over_carry_across_days(world, tmp_path):
    from lab.simday import run_day

    folder, sim_config = world
    catalog = {"catalog": str(folder / "tracks.json"), "item_recommendations": {},
               "user_recommendations": {}}  # fmt: skip
    # history_i2i keeps the users' histories (its list source holds one list; StickyArtist
    # answers the rest)
    items = tmp_path / "i2i.json"
    items.write_text(json.dumps({"track": 0, "recommendations": [1]}) + "\n")
    catalog["item_recommendations"] = {"i2i": str(items)}
    chain = [{"recommender": "history_i2i", "source": "i2i", "ranked": True},
             {"recommender": "sticky_artist", "no_repeat": True}]  # fmt: skip
    config = botify_config(tmp_path / "cfg", {"C": chain}, catalog)
    histories: dict = {}
    run_day(str(sim_config), str(config), 200, 1, 3, tmp_path / "log1", histories)
    after_day1 = {user: list(history) for user, history in histories.items()}
    assert after_day1 and all(0 < len(h) <= 20 for h in after_day1.values())
    run_day(str(sim_config), str(config), 200, 2, 3, tmp_path / "log2", histories)
    day2 = pl.read_ndjson(tmp_path / "log2" / "events.jsonl").group_by("user").len()
    listens = dict(zip(day2["user"].to_list(), day2["len"].to_list(), strict=True))
    returning = [u for u in after_day1 if u in listens and listens[u] + len(after_day1[u]) <= 20]
    assert returning  # users back on day 2 whose history still holds all of day 1's
    for user in returning:
        assert histories[user][-len(after_day1[user]) :] == after_day1[user]
        assert len(histories[user]) > len(after_day1[user])  # day 2's listens in front
