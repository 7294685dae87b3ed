"""Each day of a `botify experiment` run: its logged work time p50 per arm (the event's
`work_time`; `latency` in logs written before it had that field), beside the p50 of the same
service (config, data, gunicorn workers) with one request in flight.

    .venv/bin/python bench/experiment_latency.py [RUN] [--sessions 300]

RUN is a run folder (runs/latest by default). For each day, a fresh Redis gets the day's data
(day 2: the learned files in RUN/model), `botify serve` runs the day's config, and the simulator
drives `--sessions` sessions with one session in flight; the ratio is the day's p50 over that
one. The issue's bar: within 3 times.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from botify.lognames import is_log_name  # noqa: E402
from botify.redis_server import RedisServer, free_port  # noqa: E402
from lab.processes import Processes, ServeProcess  # noqa: E402


def latencies(log_dir: Path, experiment: str) -> dict[str, list[float]]:
    """Each arm's logged work times (ms) of /next events."""
    by_arm: dict[str, list[float]] = defaultdict(list)
    for path in sorted(p for p in log_dir.iterdir() if is_log_name(p.name)):
        for line in path.read_text().splitlines():
            event = json.loads(line)
            if event["message"] == "next":
                work = event.get("work_time", event["latency"])
                by_arm[event["experiments"][experiment]].append(work * 1000)
    return by_arm


def alone(run: Path, day: int, sessions: int, work: Path) -> dict[str, list[float]]:
    """The day's service with one request in flight: its logged latencies by arm."""
    config = json.loads((run / f"config.day{day}.json").read_text())
    with RedisServer(port=free_port()) as redis_server:
        env = {**os.environ, "BOTIFY_REDIS_URL": redis_server.url}
        env["BOTIFY_LOG_DIR"] = str(work / f"day{day}")
        day_config = str(run / f"config.day{day}.json")
        subprocess.run(
            [sys.executable, "-m", "botify", "load", "--config", day_config],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        with Processes() as started:
            service = started.add(ServeProcess(Path(day_config), env=env))
            service.wait_healthy()
            subprocess.run(
                [sys.executable, "-m", "sim.run", "--config", str(run / "sim.yaml")]
                + ["--episodes", str(sessions), "--days", "1", "--seed", "7"]
                + ["--url", service.url, "single", "--recommender", "remote"]
                + ["--sessions-in-flight", "1"],
                cwd=ROOT,
                check=True,
                capture_output=True,
            )
    return latencies(work / f"day{day}", config["routing_experiment"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", nargs="?", default=str(ROOT / "runs" / "latest"), help="run folder")
    parser.add_argument("--sessions", type=int, default=300, help="sessions with one in flight")
    args = parser.parse_args()
    run = Path(args.run).resolve()
    print("| day | arm | logged p50 ms | one in flight p50 ms | ratio |")
    print("|---:|---|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as work:
        for day in (1, 2):
            routing = json.loads((run / f"config.day{day}.json").read_text())["routing_experiment"]
            logged = latencies(run / "logs" / f"day{day}", routing)
            floor = alone(run, day, args.sessions, Path(work))
            for arm in sorted(logged):
                day_p50 = statistics.median(logged[arm])
                one_p50 = statistics.median(floor[arm])
                print(
                    f"| {day} | {arm} | {day_p50:.2f} | {one_p50:.2f} | {day_p50 / one_p50:.2f} |",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
