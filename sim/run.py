"""`python -m sim.run` (and `botify sim`): run synthetic users against a recommender.

    python -m sim.run --episodes 1000 --config sim/config.yaml single --recommender remote --seed 1
    python -m sim.run --episodes 10000 --days 3 multi --processes 4

`--episodes` sessions a day (in `multi`, in all processes together), for `--days` days; without
`--days` the run asks between days whether to start a new one when stdin is a terminal, and
runs one day otherwise. `--first-day` numbers the days from another day (a run that is a later
day of a longer experiment), in labels only: the sessions are those of the run's own first day.
Progress shows as a bar on a terminal and as a plain line every few seconds in a file or pipe.
At the end: a table per day of sessions, mean and standard error of session time (the sum of
listened fractions after each session's first track: the simulator's count) and of session
length."""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from sim.agents import AGENTS
from sim.agents.console import StopRun
from sim.agents.remote import RemoteStats
from sim.config import DEFAULT_PATH, load_config, with_overrides
from sim.day import Driver, RunStopped
from sim.errors import SimError
from sim.parallel import ProcessPool, Setup, WorkerFailed
from sim.progress import progress
from sim.report import markdown_table, summarize
from sim.session import SessionResult
from sim.world import load_world


def _add_common(parser: argparse.ArgumentParser, top: bool) -> None:
    """Options accepted before the mode (as the course places --config and --episodes) and
    after it (as it places --seed and --recommender); a subparser's value wins when given."""

    def default(value: Any) -> Any:
        return value if top else argparse.SUPPRESS

    parser.add_argument(
        "--config", default=default(str(DEFAULT_PATH)), help="simulator YAML config"
    )
    parser.add_argument(
        "--episodes", type=int, default=default(100), help="sessions a day, all processes together"
    )
    parser.add_argument(
        "--days", type=int, default=default(None), help="days to run without asking"
    )
    parser.add_argument(
        "--first-day",
        type=int,
        default=default(1),
        help="the first day's number in the progress, the table and --out (1); labels only",
    )
    parser.add_argument("--seed", type=int, default=default(42), help="random seed")
    parser.add_argument(
        "--recommender", choices=AGENTS, default=default("remote"), help="who recommends (remote)"
    )
    parser.add_argument("--url", default=default(None), help="the service's base URL (remote)")
    parser.add_argument(
        "--sessions-in-flight", type=int, default=default(None), help="sessions at once (remote)"
    )
    parser.add_argument(
        "--in-flight-limit",
        choices=("adaptive", "fixed"),
        default=default(None),
        help="requests at once: adaptive to the service's latency, or one per session (remote)",
    )
    parser.add_argument("--botify-config", default=default(None), help="botify config (inprocess)")
    parser.add_argument("--arm", default=default(None), help="experiment arm to run (inprocess)")
    parser.add_argument(
        "--out", type=Path, default=default(None), help="write sessions as JSON lines"
    )
    parser.add_argument(
        "--debug", action="store_true", default=default(False), help="show tracebacks"
    )


def parse_args(argv: list[str]) -> argparse.Namespace:
    prog = "botify sim" if Path(sys.argv[0]).name == "botify" else "python -m sim.run"
    parser = argparse.ArgumentParser(
        prog=prog, description="Run synthetic users against a recommender."
    )
    _add_common(parser, top=True)
    modes = parser.add_subparsers(dest="mode", required=True, metavar="{single,multi}")
    single = modes.add_parser("single", help="run in this process")
    _add_common(single, top=False)
    multi = modes.add_parser("multi", help="run in several processes")
    _add_common(multi, top=False)
    multi.add_argument("--processes", type=int, default=2)
    args = parser.parse_args(argv)
    for name, least in (
        ("episodes", 1),
        ("days", 1),
        ("first_day", 1),
        ("seed", 0),
        ("processes", 1),
    ):
        value = getattr(args, name, None)
        if value is not None and value < least:
            parser.error(f"--{name.replace('_', '-')} must be at least {least}, not {value}")
    if args.mode == "multi" and args.recommender == "console":
        parser.error("the console recommender runs in single mode only")
    return args


def overrides(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "remote.url": args.url,
        "remote.sessions_in_flight": args.sessions_in_flight,
        "remote.in_flight_limit": args.in_flight_limit,
        "inprocess.config": args.botify_config,
        "inprocess.arm": args.arm,
    }


def ask_new_day(day: int) -> bool:
    while True:
        try:
            answer = input(f"End of day {day}. Would you like to start a new day? (y/n) ")
        except EOFError:
            return False
        if answer.strip().lower() in ("y", "yes"):
            print("Moving to the next day!")
            return True
        if answer.strip().lower() in ("n", "no"):
            print("Ending the simulation")
            return False


def write_sessions(path: Path, results: list[SessionResult]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as file:
        for r in results:
            row: dict[str, int | float | str] = {
                "day": r.day,
                "episode": r.episode,
                "user": r.user,
                "time": r.time,
                "length": r.length,
            }
            if r.error is not None:
                row["error"] = r.error
            file.write(json.dumps(row) + "\n")


def print_summary(
    results: list[SessionResult], elapsed: float, cpu: float | None, stats: RemoteStats | None
) -> None:
    """`cpu`: this process's CPU seconds over the sessions (None when workers ran them)."""
    print("## Experiment results summary\n")
    print(markdown_table(summarize(results)))
    print(
        "\ntime: session time in the simulator's count (per session, the listened fractions "
        "after its first track; botify ab's mean_time_per_session also counts the first track)"
    )
    rate = len(results) / elapsed if elapsed > 0 else 0.0
    line = f"\n{len(results)} sessions in {elapsed:.1f} s ({rate:.0f} sessions/s"
    line += f", simulator CPU {cpu / elapsed:.0%})" if cpu is not None and elapsed > 0 else ")"
    if stats is not None:
        line += (
            f"; {stats.requests} requests ({stats.requests / max(elapsed, 1e-9):.0f}/s), "
            f"{stats.retries} retries, {stats.bad_answers} bad answers"
        )
        if stats.limit_windows:
            line += f", in-flight limit {stats.limit_total / stats.limit_windows:.1f} on average"
    print(line)


def run(args: argparse.Namespace) -> int:
    config = with_overrides(load_config(args.config), overrides(args))
    # loaded here in multi mode too: a broken world is reported once, before any worker starts
    world = load_world(config.world.paths(), config.user)
    interactive = args.days is None and sys.stdin.isatty() and args.recommender != "console"
    last_day = args.days if args.days is not None else (None if interactive else 1)

    if args.mode == "multi":
        setup = Setup(args.config, overrides(args), args.recommender, args.seed, args.episodes)
        runner: Driver | ProcessPool = ProcessPool(setup, args.processes)
    else:
        runner = Driver(world, config, args.recommender, args.seed, args.episodes)

    results: list[SessionResult] = []
    stopped: BaseException | None = None
    elapsed = cpu = 0.0  # over the days' sessions, not the questions between them
    try:
        day = 1
        while True:
            started, cpu_started = time.perf_counter(), time.process_time()
            label = day + args.first_day - 1  # the schedule's day stays the run's own
            with progress(args.episodes, f"day {label}") as update:
                try:
                    done = runner.run_day(day, update)
                except RunStopped as stop:
                    done = stop.results
                    stopped = stop.error
            results += [replace(r, day=label) for r in done] if label != day else done
            elapsed += time.perf_counter() - started
            cpu += time.process_time() - cpu_started
            if stopped is not None or day == last_day:
                break
            if last_day is None and not ask_new_day(label):
                break
            day += 1
    finally:
        runner.close()
    results.sort(key=lambda r: (r.day, r.episode))

    stats = runner.stats if isinstance(runner, ProcessPool) else runner.remote_stats
    if args.out is not None:
        write_sessions(args.out, results)
    print_summary(results, elapsed, None if args.mode == "multi" else cpu, stats)
    if stopped is not None and not isinstance(stopped, StopRun):
        if args.debug:
            if isinstance(stopped, WorkerFailed):
                print(stopped.detail, file=sys.stderr)
            raise stopped
        raise stopped if isinstance(stopped, SimError) else SimError(_unexpected(stopped))
    if stats is not None and stats.bad_answers:
        raise SimError(
            f"{stats.bad_answers} bad answers from the service; first: {stats.first_bad_answer}"
        )
    return 0


def _unexpected(error: BaseException) -> str:
    return f"{type(error).__name__}: {error} (run with --debug for the traceback)"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return run(args)
    except SimError as error:
        if args.debug:
            raise
        print(f"sim: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("sim: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
