"""A simulated day served in-process and logged as the service logs it, for the online evaluation
of trained files without starting the service.

    botify simday --botify-config CONFIG --episodes 20000 --day 1 --seed 7 --log DIR

The simulator's users (sim/: its world, listener model and day schedule) listen to what a botify
config's routing experiment answers; each /next and /last is decided exactly as botify.service
decides it (the user's arm by the course's bucketing, the arm's chain on the user's session and
history, kept as the service keeps them) and written by botify's own event log writer into
DIR/events.jsonl, with the same fields. So `botify ab` and `botify train` read it as they read a
served day's log. Differences from a served day: time is simulated (the day's sessions are spread
evenly over 24 hours in the schedule's order, the day starting at `--day` x 24 h after
2024-01-01, one millisecond per step), latency is the in-process chain's, and users' histories
start empty each run unless the caller hands them over (`run_day(histories=...)`, as
`botify experiment --days` does: the service keeps them in Redis across days).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

from botify.config import ConfigError
from botify.dataset import DataError
from botify.eventlog import EventLog
from botify.lognames import LOG_FILE

EPOCH_MS = 1_704_067_200_000  # 2024-01-01 00:00 UTC
DAY_MS = 86_400_000


class SimulatedClock:
    """The events' timestamps: set to each session's start, one millisecond more per event."""

    def __init__(self) -> None:
        self.now_ms = 0

    def __call__(self) -> int:
        self.now_ms += 1
        return self.now_ms - 1


def run_day(
    sim_config: str,
    botify_config: str,
    episodes: int,
    day: int,
    seed: int,
    log: Path,
    histories: dict[int, list[tuple[int, float]]] | None = None,
    progress: Callable[[int], object] = lambda done: None,
):
    """The day's session results (sim.session.SessionResult), its events logged into `log`.
    `histories`: the users' recent listens to start from, kept up to date in place (so that a
    run of days carries them as the service's Redis does); None: they start empty. `progress`
    is told of each session done."""
    from sim.agents.inprocess import InprocessAgent
    from sim.config import load_config
    from sim.env import RecEnv
    from sim.schedule import plan_day
    from sim.session import run_session
    from sim.world import load_world

    config = load_config(sim_config)
    world = load_world(config.world.paths(), config.user)
    clock = SimulatedClock()
    events = EventLog(log, max_bytes=0, backups=0)
    try:
        agent = InprocessAgent(
            botify_config, None, seed, world.n_tracks, events=events, clock_ms=clock
        )
        if histories is not None:
            agent.recommender.store.histories = histories
        env = RecEnv(world, config.user.max_session_steps)
        period_ms = DAY_MS // episodes
        results = []
        for visits in plan_day(seed, day, episodes, world.n_users):
            for visit in visits:
                clock.now_ms = EPOCH_MS + day * DAY_MS + visit.episode * period_ms
                results.append(run_session(env, agent, day, visit))
                progress(1)
    finally:
        events.close()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="botify simday", description=__doc__.split("\n\n")[0])
    parser.add_argument("--botify-config", required=True, help="botify config.json")
    parser.add_argument("--sim-config", default="sim/config.yaml", help="simulator config")
    parser.add_argument("--episodes", type=int, default=20_000, help="sessions (20000)")
    parser.add_argument("--day", type=int, default=1, help="day number in the schedule (1)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (42)")
    parser.add_argument("--log", type=Path, required=True, help="log folder (events.jsonl)")
    args = parser.parse_args(argv)
    if (args.log / LOG_FILE).exists():
        print(f"simday: {args.log / LOG_FILE} exists: use a new folder", file=sys.stderr)
        return 2
    from sim.errors import SimError
    from sim.progress import progress

    started = time.perf_counter()
    try:
        with progress(args.episodes, f"day {args.day}") as update:
            results = run_day(
                args.sim_config,
                args.botify_config,
                args.episodes,
                args.day,
                args.seed,
                args.log,
                progress=update,
            )
    except (ConfigError, DataError, SimError) as error:
        print(f"simday: {error}", file=sys.stderr)
        return 2
    times = [r.time for r in results]
    mean = sum(times) / len(times)
    print(
        f"simday: day {args.day}: {len(results)} sessions, mean session time {mean:.3f} "
        "(the simulator's count), "
        f"logged to {args.log / LOG_FILE} in {time.perf_counter() - started:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
