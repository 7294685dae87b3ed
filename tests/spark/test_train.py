"""`botify train --engine spark`: on a small log with something to learn, the files it writes are
taken by `botify load` into a real Redis, and its offline figures are the one-machine path's:
the same scores for the models that are the same aggregations (charts, item-to-item next,
session and their blend), and per-user ALS (Spark's own against `implicit`) within 10% in HR@10.
One Spark run for all (the session is the suite's: tests/spark/conftest.py)."""

from __future__ import annotations

import json

import pytest
import redis

from botify.config import load_config
from botify.data import DataView
from botify.loader import load
from botify.store import RedisStore
from offline.learn.train import main
from tests.conftest import write_config
from tests.spark.conftest import MASTER
from tests.spark.taste_log import write_taste_log

ALS_TOLERANCE = 0.10  # relative, HR@10: two implementations of one model
# Two trainings on Spark (evaluation, then all listens) are many small Spark jobs: about two
# minutes here when other work shares the 2 cores; pytest's 300 s would fail a busy machine.
pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(polars output folder, spark output folder) trained on the same log."""
    folder = tmp_path_factory.mktemp("taste")
    catalog, log = write_taste_log(folder)
    common = [str(log), "--catalog", str(catalog), "--weights", "next=1,session=1"]
    assert main([*common, "--out", str(folder / "polars")]) == 0
    spark = ["--engine", "spark", "--master", MASTER, "--out", str(folder / "spark")]
    assert main([*common, *spark]) == 0
    return folder / "polars", folder / "spark"


def hit_rates(out) -> dict[str, float]:
    rates = {}
    for name in ("top_tracks", "i2i", "users"):
        meta = json.loads((out / f"{name}.meta.json").read_text())
        rates |= {s["model"]: s["hit_rate"] for s in meta["evaluation"]["scores"]}
    return rates


def test_offline_figures_are_the_one_machine_paths(spark, trained):
    one_machine, on_spark = (hit_rates(out) for out in trained)
    same = ["TopPop (plays)", "top_tracks (listened time)", "i2i next", "i2i session", "i2i blend"]
    for model in same:
        assert on_spark[model] == pytest.approx(one_machine[model], abs=1e-9), model
    assert on_spark["i2i blend"] > 5 * on_spark["TopPop (plays)"]  # something was learned
    als, implicit = on_spark["users (ALS)"], one_machine["users (ALS)"]
    assert abs(als - implicit) <= ALS_TOLERANCE * implicit, (als, implicit)


def test_files_are_loaded_by_botify_load(spark, trained, tmp_path, redis_url):
    _, out = trained
    data = json.loads((out / "botify_data.json").read_text())
    config = load_config(
        write_config(tmp_path, redis_url=redis_url, data=data, log_dir=str(tmp_path / "l"))
    )
    client = redis.Redis.from_url(redis_url)
    _, _, dataset = load(config, client, grace=0)
    assert dataset is not None and dataset.dropped == {}
    view = DataView(RedisStore(client, namespace=config["namespace"]))
    items = [json.loads(line) for line in (out / "i2i.json").read_text().splitlines()]
    assert len(items) > 200
    for row in items[:5]:
        assert view.item_recommendations("i2i", row["track"]).tolist() == row["recommendations"]
    users = [json.loads(line) for line in (out / "users.json").read_text().splitlines()]
    assert len(users) == 120 and [u["user"] for u in users] == sorted(u["user"] for u in users)
    assert view.user_recommendations("als", users[7]["user"]).tolist() == users[7]["tracks"]
    top = json.loads((out / "top_tracks.json").read_text())
    assert view.top_tracks[:10].tolist() == top[:10]
    meta = json.loads((out / "users.meta.json").read_text())
    assert meta["parameters"]["engine"].startswith("spark") and meta["log"]["listens"] > 3000


def test_what_spark_does_not_train_is_refused(spark, tmp_path, capsys):
    catalog, log = write_taste_log(tmp_path, users=4, rounds=1)
    base = [str(log), "--catalog", str(catalog), "--out", str(tmp_path / "o"), "--engine", "spark"]
    for extra in (["--users", "enjoyed"], ["--i2i", "catalog"], ["--exclude-seen"]):
        assert main([*base, *extra]) == 2
        err = capsys.readouterr().err
        assert f"{' '.join(extra)}: not trained with --engine spark" in err, err
    assert main([*base, "--master", "mesos://h"]) == 2
    assert "--master" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
