"""`python -m sim.run`: schedules, determinism across processes, days, agents, the summary."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sim.agents.base import Agent
from sim.agents.console import ConsoleAgent, StopRun
from sim.agents.neighbours import NeighboursAgent
from sim.day import run_visits
from sim.env import RecEnv
from sim.run import main
from sim.schedule import day_users, plan_day

ROOT = Path(__file__).resolve().parents[2]


def sessions(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def run(config: Path, out: Path, *args: str) -> list[dict]:
    assert main(["--config", str(config), "--out", str(out), *args]) == 0
    return sessions(out)


def test_summary_table_per_day(sim_config, tmp_path, capsys):
    rows = run(sim_config, tmp_path / "s.jsonl", "--episodes", "60", "--days", "2", "single",
               "--recommender", "sticky")  # fmt: skip
    out = capsys.readouterr().out
    assert "| day | sessions | time mean | time sem | length mean | length sem |" in out
    assert "time: session time in the simulator's count (per session, " in out
    assert "| 1 | 60 |" in out and "| 2 | 60 |" in out
    assert [r["day"] for r in rows] == [1] * 60 + [2] * 60
    assert [r["episode"] for r in rows[:60]] == list(range(60))
    # the days' users differ: each day draws its own
    assert [r["user"] for r in rows[:60]] != [r["user"] for r in rows[60:]]


@pytest.mark.parametrize("agent", ["sticky", "dummy", "oracle"])
def test_same_seed_same_sessions_with_one_and_two_processes(sim_config, tmp_path, agent):
    common = ["--episodes", "150", "--days", "2"]
    single = run(sim_config, tmp_path / "1.jsonl", *common, "single", "--recommender", agent,
                 "--seed", "11")  # fmt: skip
    again = run(sim_config, tmp_path / "1b.jsonl", *common, "single", "--recommender", agent,
                "--seed", "11")  # fmt: skip
    multi = run(sim_config, tmp_path / "2.jsonl", *common, "multi", "--processes", "2",
                "--recommender", agent, "--seed", "11")  # fmt: skip
    assert single == again == multi
    other = run(sim_config, tmp_path / "3.jsonl", *common, "single", "--recommender", agent,
                "--seed", "12")  # fmt: skip
    assert other != single


def test_schedule_shards_partition_the_day_and_keep_each_user_in_order():
    users = day_users(3, 1, 500, 40).tolist()
    shards = [plan_day(3, 1, 500, 40, shard, 3) for shard in range(3)]
    visits = [v for shard in shards for per_user in shard for v in per_user]
    assert sorted(v.episode for v in visits) == list(range(500))
    assert all(users[v.episode] == v.user for v in visits)
    for shard in shards:
        for per_user in shard:
            assert [v.episode for v in per_user] == sorted(v.episode for v in per_user)
            assert len({v.user for v in per_user}) == 1
            assert len({v.seed for v in per_user}) == len(per_user)  # each visit its own stream
    assert plan_day(3, 1, 500, 40) == plan_day(3, 1, 500, 40)


class Recorder(Agent):
    """Recommends the next track id; records what it was told."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict, float]] = []

    def recommend(self, observation, reward, info):
        self.calls.append(("next", dict(observation), reward))
        return (observation["track"] + 1) % 3000

    def end_session(self, observation, reward, info):
        self.calls.append(("last", dict(observation), reward))


def test_agent_sees_the_courses_protocol(world):
    agent = Recorder()
    results = run_visits(RecEnv(world), agent, 1, plan_day(0, 1, 5, world.n_users))
    assert len(results) == 5
    starts = [i for i, c in enumerate(agent.calls) if i == 0 or agent.calls[i - 1][0] == "last"]
    assert len(starts) == 5
    for i in starts:
        assert agent.calls[i][2] == 1.0  # the first track is listened to fully
    for before, after in zip(agent.calls, agent.calls[1:], strict=False):
        if before[0] == "next":  # the next observation is the track just recommended
            assert after[1]["track"] == (before[1]["track"] + 1) % 3000
    lengths = [r.length for r in results]
    assert sum(c[0] == "next" for c in agent.calls) == sum(lengths)


def test_oracle_beats_sticky_beats_random(sim_config, tmp_path):
    def mean_time(agent: str) -> float:
        rows = run(sim_config, tmp_path / f"{agent}.jsonl", "--episodes", "300", "single",
                   "--recommender", agent)  # fmt: skip
        return sum(r["time"] for r in rows) / len(rows)

    dummy, sticky, oracle = mean_time("dummy"), mean_time("sticky"), mean_time("oracle")
    assert oracle > 3 * dummy and dummy < sticky < oracle
    # the item-to-item ceiling: beats the baselines that learn nothing, not the oracle
    assert sticky < mean_time("neighbours") < oracle


def test_neighbours_agent_plays_like_the_first_track_and_tires_of_its_artist(world):
    env = RecEnv(world)
    agent = NeighboursAgent()
    agent.attach(env)
    observation, info = env.reset(seed=3, options={"user": 2})
    first = observation["track"]
    similarity = world.embeddings @ world.embeddings[first]
    played = [first]
    for _ in range(12):
        track = agent.recommend(observation, 1.0, info)
        assert track not in played
        played.append(track)
        observation, _, done, _, info = env.step(track)
        if done:
            break
    # its first pick is among the first track's nearest, not the session interest's
    assert similarity[played[1]] >= np.sort(similarity)[-40]
    # the artist discount sends it to other artists before the first artist's tracks run out
    artists = {int(world.track_artist[t]) for t in played}
    assert len(artists) > 1


def test_console_agent_reads_track_ids(world):
    answers = iter(["", "abc", str(world.n_tracks), "  12 ", "q"])
    shown: list[str] = []
    agent = ConsoleAgent(world, read=lambda prompt: next(answers), write=shown.append)
    env = RecEnv(world)
    observation, info = env.reset(seed=0, options={"user": 1})
    assert agent.recommend(observation, 1.0, info) == 12
    assert world.describe(observation["track"]) in shown[0]  # by title and artist
    assert sum("is not a track id" in line for line in shown) == 3
    assert world.describe(12) in shown[-1]
    with pytest.raises(StopRun):
        agent.recommend(observation, 0.5, info)


def test_console_run_stops_cleanly_on_quit(sim_config, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "sim.run", "--config", str(sim_config), "--episodes", "3",
         "single", "--recommender", "console"],
        input="5\n6\nq\n", capture_output=True, text=True, cwd=ROOT, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "next track for user" in result.stdout and "Experiment results summary" in result.stdout


def test_botify_sim_dispatches_to_the_runner(sim_config, capsys):
    from lab.cli import main as botify_main

    assert botify_main(["sim", "--config", str(sim_config), "--episodes", "5", "single",
                        "--recommender", "dummy"]) == 0  # fmt: skip
    assert "| 1 | 5 |" in capsys.readouterr().out


def test_python_dash_m_and_interactive_days(sim_config):
    """Without --days and with a non-terminal stdin the run does one day without asking."""
    result = subprocess.run(
        [sys.executable, "-m", "sim.run", "--episodes", "4", "--config", str(sim_config),
         "single", "--recommender", "dummy", "--seed", "1"],
        capture_output=True, text=True, cwd=ROOT, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "| 1 | 4 |" in result.stdout and "new day" not in result.stdout


def test_first_day_numbers_the_days_in_labels_only(sim_config, tmp_path, capsys):
    common = ["--episodes", "30", "--days", "2", "single", "--recommender", "sticky"]
    plain = run(sim_config, tmp_path / "1.jsonl", *common)
    capsys.readouterr()
    later = run(sim_config, tmp_path / "2.jsonl", "--first-day", "2", *common)
    captured = capsys.readouterr()
    assert "| 2 | 30 |" in captured.out and "| 3 | 30 |" in captured.out
    assert "| 1 | 30 |" not in captured.out
    assert [r["day"] for r in later] == [2] * 30 + [3] * 30
    # the same sessions as the run's own days 1 and 2: only their labels changed
    assert [{**r, "day": r["day"] - 1} for r in later] == plain
    # not a terminal: a plain progress line (the last one at each day's end), no bar
    assert "day 2: 30/30 sessions (100%)" in captured.err
    assert "day 3: 30/30 sessions (100%)" in captured.err and "\r" not in captured.err
