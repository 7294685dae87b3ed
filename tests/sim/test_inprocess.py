"""The inprocess agent: a botify config's recommender chain, without HTTP."""

from __future__ import annotations

import json

import pytest

from sim.run import main
from tests.conftest import small_dataset, write_config

from .conftest import botify_data, write_sim_config
from .output import errors


@pytest.fixture
def botify_config(tmp_path, world_dir):
    return write_config(
        tmp_path,
        data=botify_data(world_dir),
        log_dir=str(tmp_path / "log"),
        experiments=[
            {
                "name": "CALIBRATION",
                "arms": {
                    "C": [{"recommender": "random"}],
                    "T1": [{"recommender": "sticky_artist"}],
                },
            }
        ],
    )


def mean_time(config, out, *args) -> float:
    assert main(["--config", str(config), "--episodes", "300", "--out", str(out), "single",
                 "--recommender", "inprocess", *args]) == 0  # fmt: skip
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 300
    return sum(r["time"] for r in rows) / len(rows)


def test_runs_a_botify_chain_by_arm(tmp_path, world_dir, botify_config):
    config = write_sim_config(
        tmp_path / "sim.yaml", world_dir, inprocess={"config": str(botify_config)}
    )
    random = mean_time(config, tmp_path / "c.jsonl", "--arm", "C")
    sticky = mean_time(config, tmp_path / "t1.jsonl", "--arm", "T1")
    both = mean_time(config, tmp_path / "both.jsonl")  # users routed to arms as the service does
    assert random < both < sticky
    # the command line names the botify config too
    assert mean_time(write_sim_config(tmp_path / "bare.yaml", world_dir), tmp_path / "x.jsonl",
                     "--botify-config", str(botify_config), "--arm", "T1") == sticky  # fmt: skip


def test_unknown_arm_and_missing_config_are_one_line_errors(
    tmp_path, sim_config, botify_config, capsys
):
    args = ["--config", str(sim_config), "single", "--recommender", "inprocess"]
    assert main([*args, "--botify-config", str(botify_config), "--arm", "T9"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"sim: {botify_config}: arm 'T9' is not an arm")
    assert err.count("\n") == 1
    assert main([*args, "--botify-config", str(tmp_path / "nope.json")]) == 1
    err = capsys.readouterr().err
    assert "nope.json: no such config file" in err and err.count("\n") == 1


def test_a_chain_answering_outside_the_sims_catalog_is_a_clear_error(tmp_path, sim_config, capsys):
    bigger = write_config(  # botify's catalog is not the simulator's: ids up to 5000
        tmp_path,
        data=small_dataset(tmp_path / "other", n_tracks=5000),
        log_dir=str(tmp_path / "log"),
        experiments=[{"name": "E", "arms": {"C": [{"recommender": "random"}]}}],
    )
    args = ["--config", str(sim_config), "--episodes", "50", "single", "--recommender"]
    assert main([*args, "inprocess", "--botify-config", str(bigger)]) == 1
    err = errors(capsys.readouterr().err)
    assert "not a track of the simulator's catalog (0..2999)" in err and err.count("\n") == 1
