"""A simulated day served in-process and logged as the service logs it, for the online evaluation
of trained files without starting the service.

    python -m lab.simday --botify-config CONFIG --episodes 20000 --day 1 --seed 7 --log DIR

The simulator's users (sim/: its world, listener model and day schedule) listen to what a botify
config's routing experiment answers; each /next and /last is decided exactly as botify.service
decides it (the user's arm by the course's bucketing, the arm's chain on the user's session and
history, kept as the service keeps them) and written by botify's own event log writer into
DIR/events.jsonl, with the same fields. So `botify ab` and `botify train` read it as they read a
served day's log. Differences from a served day: time is simulated (the day's sessions are spread
evenly over 24 hours in the schedule's order, the day starting at `--day` x 24 h after
2024-01-01, one millisecond per step), latency is the in-process chain's, and users' histories
start empty each run (the service keeps them in Redis across days).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from botify.config import ConfigError
from botify.dataset import DataError
from botify.eventlog import EventLog
from botify.inprocess import InProcessRecommender

EPOCH_MS = 1_704_067_200_000  # 2024-01-01 00:00 UTC
DAY_MS = 86_400_000


class LoggedChains:
    """A simulator agent (sim.agents.base.Agent's interface) that runs a botify config's
    experiment in-process and logs every request."""

    name = "botify-inprocess-logged"

    def __init__(self, config_path: str, seed: int, log_dir: Path):
        self.recommender = InProcessRecommender.from_config(config_path, seed=seed)
        self.experiments = self.recommender.experiments
        self.store = self.recommender.store
        self.events = EventLog(log_dir, max_bytes=0, backups=0)
        self.clock_ms = 0  # the simulated time of the next event

    def attach(self, env: Any) -> None:
        pass

    def recommend(self, observation: dict[str, int], reward: float, info: dict[str, Any]) -> int:
        started = time.perf_counter()
        user, track = int(observation["user"]), int(observation["track"])
        chain, arms = self.experiments.assign(user)
        recommendation, link = chain.recommend(user, track, reward)
        self.store.record(user, track, reward, recommendation, chain.state)
        self._log("next", user, track, reward, started, recommendation, arms, link)
        return recommendation

    def end_session(self, observation: dict[str, int], reward: float, info: dict[str, Any]) -> None:
        started = time.perf_counter()
        user, track = int(observation["user"]), int(observation["track"])
        _, arms = self.experiments.assign(user)
        self.store.end_session(user)
        self._log("last", user, track, reward, started, None, arms, None)

    def close(self) -> None:
        self.events.close()

    def _log(self, message, user, track, listened, started, recommendation, arms, link) -> None:
        self.events.write(
            {
                "message": message,
                "timestamp": self.clock_ms,
                "user": user,
                "track": track,
                "time": float(listened),
                "latency": time.perf_counter() - started,
                "recommendation": recommendation,
                "experiments": arms,
                "recommender": link,
            }
        )
        self.clock_ms += 1


def run_day(sim_config: str, botify_config: str, episodes: int, day: int, seed: int, log: Path):
    """The day's session results (sim.runner.SessionResult), its events logged into `log`."""
    from sim.catalog import load_world
    from sim.config import load_config
    from sim.env import RecEnv
    from sim.runner import run_session
    from sim.schedule import plan_day

    config = load_config(sim_config)
    world = load_world(config.world.paths(), config.user)
    agent = LoggedChains(botify_config, seed, log)
    env = RecEnv(world, config.user.max_session_steps)
    period_ms = DAY_MS // episodes
    results = []
    try:
        for visits in plan_day(seed, day, episodes, world.n_users):
            for visit in visits:
                agent.clock_ms = EPOCH_MS + day * DAY_MS + visit.episode * period_ms
                results.append(run_session(env, agent, day, visit))  # type: ignore[arg-type]
    finally:
        agent.close()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lab.simday", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--botify-config", required=True, help="botify config.json")
    parser.add_argument("--sim-config", default="sim/config.yaml", help="simulator config")
    parser.add_argument("--episodes", type=int, default=20_000, help="sessions (20000)")
    parser.add_argument("--day", type=int, default=1, help="day number in the schedule (1)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (42)")
    parser.add_argument("--log", type=Path, required=True, help="log folder (events.jsonl)")
    args = parser.parse_args(argv)
    if (args.log / "events.jsonl").exists():
        print(f"simday: {args.log}/events.jsonl exists: use a new folder", file=sys.stderr)
        return 2
    from sim.errors import SimError

    started = time.perf_counter()
    try:
        results = run_day(
            args.sim_config, args.botify_config, args.episodes, args.day, args.seed, args.log
        )
    except (ConfigError, DataError, SimError) as error:
        print(f"simday: {error}", file=sys.stderr)
        return 2
    times = [r.time for r in results]
    mean = sum(times) / len(times)
    print(
        f"simday: day {args.day}: {len(results)} sessions, mean session time {mean:.3f}, "
        f"logged to {args.log}/events.jsonl in {time.perf_counter() - started:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
