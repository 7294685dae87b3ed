"""`botify experiment`: the whole A/B day loop in one command, with real processes.

1. the world (unless it exists), a real Redis, the catalog loaded, the service under gunicorn;
2. day 1, cold start: everyone is served by the routing experiment's control chain, an A/A
   experiment logged alongside; the simulator drives the service over HTTP;
3. `botify train` on day 1's logs, the learned files hot-loaded into the running service, and the
   service switched to config.json's experiments by a graceful reload (SIGHUP);
4. day 2: config.json's A/B experiment, driven by the simulator;
5. everything in runs/<timestamp>/ (runs/latest points at it): configs, logs, learned files, the
   A/A verdict of day 1, the A/B report of day 2, and summary.md; the service's /metrics at the
   end of each day (metrics.day1.txt, metrics.day2.txt), its answers per arm checked against the
   day's log (lab.metrics_check).

Every process it starts is stopped at the end, on Ctrl-C, and on a failure in any step.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import requests

from botify.config import ConfigError, load_config
from botify.redis_server import RedisServer, free_port
from lab.autosize import planned_size, sessions_value
from lab.days import (
    AA,
    COLD_START,
    DEFAULT_SIZE,
    QUICK_SIZE,
    Size,
    day1_config,
    day2_config,
    routing_name,
    sim_config,
)
from lab.loop_options import add_loop_options, refuse_without_days
from lab.metrics_check import check_day
from lab.processes import ROOT, ProcessFailed, ServeProcess
from lab.summary import summary
from offline.report.peeking import mde_value
from sim.worldfiles import TRACKS, world_matches

STEPS = 7


class ExperimentError(RuntimeError):
    """A step failed; the message says which and where its output is."""


def step(number: int, text: str) -> None:
    print(f"\n[{number}/{STEPS}] {text}", flush=True)


def botify_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "lab", *args]


def run_step(command: list[str], log: Path | None = None) -> str:
    """Run a command to completion; its output goes to the terminal (and to `log`)."""
    if log is None:
        returncode, output, errors = subprocess.run(command, cwd=ROOT).returncode, "", ""
    else:
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        returncode, output, errors = result.returncode, result.stdout, result.stderr
        log.write_text(output + errors)
        print(output.rstrip())
    if returncode != 0:
        where = f" (output in {log})" if log else ""
        tail = errors.strip().splitlines()[-1:]
        raise ExperimentError(f"{' '.join(command[1:4])} ... failed{where}: {' '.join(tail)}")
    return output


def wait_for_routing(url: str, routing: str, timeout: float = 60.0) -> None:
    """Until every answer of `url`/experiments has named `routing` for two seconds in a row: an
    old worker may accept connections for up to a second after a graceful reload stops it."""
    deadline, steady_since = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        try:
            answer = requests.get(url + "/experiments", timeout=2).json()["routing"]
        except (requests.RequestException, ValueError, KeyError):
            answer = None
        if answer != routing:
            steady_since = None
        elif steady_since is None:
            steady_since = time.monotonic()
        elif time.monotonic() - steady_since >= 2.0:
            return
        time.sleep(0.02)
    raise ExperimentError(f"the service did not switch to experiment {routing} in time")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="botify experiment", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--config",
        default=str(ROOT / "config.json"),
        help="the botify config whose routing experiment runs on day 2",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"a small world and {QUICK_SIZE.sessions} sessions a day (< 1 min)",
    )
    parser.add_argument(
        "--sessions",
        type=sessions_value,
        help="sessions a day (20000; quick: 3000), or auto: day 2 sized by botify plan on day 1",
    )
    parser.add_argument(
        "--mde",
        type=mde_value,
        default=0.02,
        help="with --sessions auto: the effect to detect (2%%)",
    )
    parser.add_argument("--seed", type=int, default=42, help="world and simulator seed (42)")
    parser.add_argument(
        "--world-seed", type=int, help="the world's own seed, when not --seed's (a homework's)"
    )
    parser.add_argument("--world", help="world folder (data, quick: data/quick)")
    parser.add_argument("--out", default=str(ROOT / "runs"), help="runs folder (runs)")
    add_loop_options(parser, listed_only=True)  # main() hands a run with --days to the loop
    args = parser.parse_args(argv)
    refuse_without_days(parser, args)
    return args


def run_experiment(args: argparse.Namespace) -> Path:
    started = time.monotonic()
    size = QUICK_SIZE if args.quick else DEFAULT_SIZE
    if isinstance(args.sessions, int):
        size = Size(size.tracks, size.artists, size.users, args.sessions)
    base = load_config(args.config)
    world = Path(args.world or (ROOT / "data" / ("quick" if args.quick else ""))).resolve()
    runs = Path(args.out).resolve()
    run = runs / datetime.now().strftime("%Y%m%d-%H%M%S")
    run.mkdir(parents=True, exist_ok=False)
    latest = runs / "latest"
    if latest.is_symlink() or latest.exists():
        latest.unlink()
    latest.symlink_to(run.name)
    print(f"botify experiment: writing to {run}")

    step(1, f"world in {world}")
    world_seed = args.seed if args.world_seed is None else args.world_seed
    if world_matches(world, world_seed, size.tracks, size.artists, size.users):
        print("already there")
    else:
        sizes = [f"--tracks={size.tracks}", f"--artists={size.artists}", f"--users={size.users}"]
        run_step(botify_command("world", "--out", str(world), "--seed", str(world_seed), *sizes))

    redis_server = service = None
    try:
        redis_server = RedisServer(
            port=free_port(), maxmemory_mb=base["embedded_redis_maxmemory_mb"]
        ).start()
        model = run / "model"
        day1 = day1_config(base, run, world, redis_server.url)
        simulator = sim_config(run, world)
        step(2, f"Redis at {redis_server.url}, catalog loaded, service starting")
        run_step(botify_command("load", "--config", str(day1)), run / "load.day1.txt")
        # The service's own config file: day 1's now, day 2's after the switch.
        live_config = run / "config.service.json"
        live_config.write_text(day1.read_text())
        service = ServeProcess(live_config, run / "service.txt", workers=2)
        service.wait_healthy()
        print(f"service up at {service.url} (gunicorn, 2 workers)")

        def simulate(day: int, seed: int, url: str) -> None:
            run_step(
                [
                    sys.executable,
                    "-m",
                    "sim.run",
                    "--config",
                    str(simulator),
                    "--episodes",
                    str(size.sessions),
                    "--days",
                    "1",
                    "--first-day",  # day 2's progress and table say day 2
                    str(day),
                    "--seed",
                    str(seed),
                    "--url",
                    url,
                    "--out",
                    str(run / f"sessions.day{day}.jsonl"),
                    "single",
                    "--recommender",
                    "remote",
                ]
            )

        step(3, f"day 1: {size.sessions} cold-start sessions (control chain; A/A logged)")
        simulate(1, args.seed, service.url)
        time.sleep(0.5)  # the event log reaches the file within 50 ms
        print(check_day(service.url, run, 1, run / "logs" / "day1", COLD_START))

        step(4, "training on day 1's logs")
        run_step(
            botify_command(
                "train",
                str(run / "logs" / "day1"),
                "--catalog",
                str(world / TRACKS),
                "--out",
                str(model),
            ),
            run / "train.txt",
        )
        run_step(
            botify_command(
                "ab",
                str(run / "logs" / "day1"),
                "--experiment",
                AA,
                "--out",
                str(run / "aa_day1"),
                "--config",
                str(day1),
            ),
            run / "aa_day1.txt",
        )

        if args.sessions == "auto":  # day 2 sized by botify plan on day 1's log
            size = planned_size(run, base, size, args.mde)
        day2 = day2_config(base, run, world, redis_server.url, model)
        routing = routing_name(base)
        step(5, f"hot-loading the learned files; switching the service to {routing}")
        run_step(botify_command("load", "--config", str(day2)), run / "load.day2.txt")
        # Workers read the config file when they start: a graceful reload switches them.
        live_config.write_text(day2.read_text())
        service.reload()
        wait_for_routing(service.url, routing)

        step(6, f"day 2: {size.sessions} sessions of A/B experiment {routing}")
        simulate(2, args.seed + 1, service.url)
        print(check_day(service.url, run, 2, run / "logs" / "day2", routing))
        service.stop()  # graceful: every queued event is written
        service = None

        step(7, "A/B report")
        run_step(
            botify_command(
                "ab",
                str(run / "logs" / "day2"),
                "--experiment",
                routing,
                "--out",
                str(run / "ab"),
                "--config",
                str(day2),
            ),
            run / "ab.txt",
        )
        (run / "summary.md").write_text(
            summary(run, routing, size, args.seed, time.monotonic() - started)
        )
    finally:
        if service is not None:
            service.stop()
        if redis_server is not None:
            redis_server.stop()
    print(
        f"\nbotify experiment: done in {time.monotonic() - started:.0f} s; "
        f"summary in {run / 'summary.md'}"
    )
    return run


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if any(arg == "--days" or arg.startswith("--days=") for arg in argv):
        from lab.days_loop import main as days_loop  # the multi-day loop, in-process

        return days_loop(argv)
    args = parse_args(argv)

    def terminated(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminated)
    try:
        run_experiment(args)
    except (ConfigError, ExperimentError, ProcessFailed, RuntimeError) as error:
        print(f"botify experiment: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(
            "botify experiment: interrupted; every process it started is stopped", file=sys.stderr
        )
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
