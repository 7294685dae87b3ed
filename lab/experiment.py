"""`botify experiment`: the whole A/B day loop in one command, with real processes.

1. the world (unless it exists), a real Redis, the catalog loaded, the service under gunicorn;
2. day 1, cold start: everyone is served by the routing experiment's control chain, an A/A
   experiment logged alongside; the simulator drives the service over HTTP;
3. `botify train` on day 1's logs, the learned files hot-loaded into the running service, and the
   service switched to config.json's experiments by a graceful reload (SIGHUP);
4. day 2: config.json's A/B experiment, driven by the simulator;
5. everything in runs/<timestamp>/ (runs/latest points at it): configs, logs, learned files, the
   A/A verdict of day 1, the A/B report of day 2, and summary.md.

Every process it starts is stopped at the end, on Ctrl-C, and on a failure in any step.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import requests
import yaml

from botify.config import ConfigError, load_config
from botify.redis_server import RedisServer, free_port

ROOT = Path(__file__).resolve().parent.parent
STEPS = 7


@dataclass(frozen=True)
class Size:
    tracks: int | None  # None: the world generator's default (the course's scale)
    artists: int | None
    users: int | None
    sessions: int  # per day


DEFAULT_SIZE = Size(None, None, None, 20_000)
QUICK_SIZE = Size(3_000, 600, 1_500, 3_000)


class ExperimentError(RuntimeError):
    """A step failed; the message says which and where its output is."""


def step(number: int, text: str) -> None:
    print(f"\n[{number}/{STEPS}] {text}", flush=True)


def botify_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "lab", *args]


def run_step(command: list[str], log: Path | None = None) -> str:
    """Run a command to completion; its output goes to the terminal (and to `log`)."""
    if log is None:
        result = subprocess.run(command, cwd=ROOT)
        output = ""
    else:
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        output = result.stdout
        log.write_text(result.stdout + result.stderr)
        print(result.stdout.rstrip())
    if result.returncode != 0:
        where = f" (output in {log})" if log else ""
        tail = result.stderr.strip().splitlines()[-1:] if log else []
        raise ExperimentError(f"{' '.join(command[1:4])} ... failed{where}: {' '.join(tail)}")
    return output


def wait_for_routing(url: str, routing: str, timeout: float = 60.0) -> None:
    """Until every answer of `url`/experiments has named `routing` for two seconds in a row."""
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


class Service:
    """`botify serve` in its own process group, so Ctrl-C reaches us and we stop it cleanly."""

    def __init__(self, config: Path, log: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log.open("w")
        self.process = subprocess.Popen(
            botify_command(
                "serve", "--config", str(config), "--port", str(self.port), "--workers", "2"
            ),
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ExperimentError(f"botify serve exited; see {self.log.name}")
            try:
                if requests.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise ExperimentError(f"botify serve was not healthy in {timeout:.0f} s")

    def reload(self, routing: str, timeout: float = 60.0) -> None:
        """Graceful reload: new workers read the edited config. An old worker may accept
        connections for up to a second after it is told to stop, so wait until every answer
        has named the new experiment for two seconds in a row."""
        os.kill(self.process.pid, signal.SIGHUP)
        wait_for_routing(self.url, routing, timeout)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # graceful: every worker writes its queued events
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


def world_is_ready(world: Path, seed: int, size: Size) -> bool:
    manifest = world / "world" / "manifest.json"
    if not (world / "tracks.json").exists() or not manifest.exists():
        return False
    described = json.loads(manifest.read_text())
    wanted = {"seed": seed, "tracks": size.tracks, "artists": size.artists, "users": size.users}
    flat = {**described, **described.get("sizes", {})}
    return all(value is None or flat.get(key) == value for key, value in wanted.items())


def write_json(path: Path, value) -> Path:
    path.write_text(json.dumps(value, indent=1))
    return path


def routing_name(base) -> str:
    return base["routing_experiment"] or base["experiments"][0]["name"]


def day1_config(base, run: Path, world: Path, redis_url: str) -> Path:
    """Cold start: the routing experiment's control chain for everyone, an A/A alongside."""
    spec = next(e for e in base["experiments"] if e["name"] == routing_name(base))
    day1 = {
        **base.values,
        "redis_url": redis_url,
        "swap_grace_seconds": 1.0,
        "data": {
            "catalog": str(world / "tracks.json"),
            "top_tracks": str(world / "top_tracks.json"),
            "item_recommendations": {},
            "user_recommendations": {},
        },
        "log_dir": str(run / "logs" / "day1"),
        "routing_experiment": "COLD_START",
        "experiments": [
            {"name": "COLD_START", "arms": {"C": spec["arms"]["C"]}},
            {"name": "AA", "arms": 2},
        ],
    }
    return write_json(run / "config.day1.json", day1)


def day2_config(base, run: Path, world: Path, redis_url: str, model: Path) -> Path:
    """config.json's experiments on the files learned from day 1."""
    day2 = {
        **base.values,
        "redis_url": redis_url,
        "swap_grace_seconds": 1.0,
        "data": {
            **json.loads((model / "botify_data.json").read_text()),
            "catalog": str(world / "tracks.json"),
        },
        "log_dir": str(run / "logs" / "day2"),
        "routing_experiment": routing_name(base),
    }
    return write_json(run / "config.day2.json", day2)


def sim_config(run: Path, world: Path) -> Path:
    config = yaml.safe_load((ROOT / "sim" / "config.yaml").read_text())
    config["world"] = {"dir": str(world)}
    config.pop("inprocess", None)
    path = run / "sim.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def read_effects(path: Path) -> list[dict]:
    with open(path) as file:
        return list(csv.DictReader(file))


def verdict(rows: list[dict], metric: str = "mean_time_per_session") -> str:
    for row in rows:
        if row["metric"] == metric:
            significant = row["significant"] == "true"
            return (
                f"{row['treatment']} vs C: {float(row['effect']):+.2f}% "
                f"[{float(row['lower']):+.2f}, {float(row['upper']):+.2f}], "
                f"{'significant' if significant else 'not significant'}"
            )
    return "no rows"


def summary(run: Path, routing: str, size: Size, seed: int, seconds: float) -> str:
    aa = read_effects(run / "aa_day1" / "effects.csv")
    ab = read_effects(run / "ab" / "effects.csv")
    aa_significant = [r["metric"] for r in aa if r["significant_holm"] == "true"]
    lines = [
        f"# botify experiment {run.name}",
        "",
        f"Seed {seed}, {size.sessions} sessions a day, {seconds:.0f} s in all.",
        "",
        "## Day 1: cold start",
        "",
        "Everyone served by the control chain; A/A experiment `AA` logged alongside.",
        f"A/A verdict on mean_time_per_session: {verdict(aa)}.",
        "A/A after Holm: "
        + (
            f"significant on {', '.join(aa_significant)}: investigate"
            if aa_significant
            else "nothing significant, as it should be"
        )
        + ".",
        "",
        "## Training",
        "",
        "Learned from day 1's logs: `model/` (each file with its `.meta.json`).",
        "",
        f"## Day 2: A/B experiment `{routing}`",
        "",
        f"Verdict on mean_time_per_session: {verdict(ab)}.",
        "",
        "| arm | metric | control | treatment | effect % | interval % | significant (Holm) |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in ab:
        lines.append(
            f"| {row['treatment']} | {row['metric']} | {float(row['control_mean']):.4g} | "
            f"{float(row['treatment_mean']):.4g} | {float(row['effect']):+.2f} | "
            f"[{float(row['lower']):+.2f}, {float(row['upper']):+.2f}] | "
            f"{row['significant_holm']} |"
        )
    lines += [
        "",
        "Files: `config.day1.json`, `config.day2.json`, `logs/`, `model/`,",
        "`aa_day1/report.md`, `ab/report.md` (with effects.csv and charts).",
        "",
    ]
    return "\n".join(lines)


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
    parser.add_argument("--sessions", type=int, help="sessions a day (20000; quick: 3000)")
    parser.add_argument("--seed", type=int, default=42, help="world and simulator seed (42)")
    parser.add_argument("--world", help="world folder (data, quick: data/quick)")
    parser.add_argument("--out", default=str(ROOT / "runs"), help="runs folder (runs)")
    return parser.parse_args(argv)


def run_experiment(args: argparse.Namespace) -> Path:
    started = time.monotonic()
    size = QUICK_SIZE if args.quick else DEFAULT_SIZE
    if args.sessions:
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
    if world_is_ready(world, args.seed, size):
        print("already there")
    else:
        sizes = [
            f"--{name}={value}"
            for name, value in (
                ("tracks", size.tracks),
                ("artists", size.artists),
                ("users", size.users),
            )
            if value is not None
        ]
        run_step(botify_command("world", "--out", str(world), "--seed", str(args.seed), *sizes))

    redis_server = service = None
    try:
        redis_server = RedisServer(port=free_port()).start()
        model = run / "model"
        day1 = day1_config(base, run, world, redis_server.url)
        simulator = sim_config(run, world)
        step(2, f"Redis at {redis_server.url}, catalog loaded, service starting")
        run_step(botify_command("load", "--config", str(day1)), run / "load.day1.txt")
        # The service's own config file: day 1's now, day 2's after the switch.
        live_config = run / "config.service.json"
        live_config.write_text(day1.read_text())
        service = Service(live_config, run / "service.txt")
        service.wait_healthy()
        print(f"service up at {service.url} (gunicorn, 2 workers)")

        def simulate(day: int, seed: int) -> None:
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
                    "--seed",
                    str(seed),
                    "--url",
                    service.url,
                    "--out",
                    str(run / f"sessions.day{day}.jsonl"),
                    "single",
                    "--recommender",
                    "remote",
                ]
            )

        step(3, f"day 1: {size.sessions} cold-start sessions (control chain; A/A logged)")
        simulate(1, args.seed)
        time.sleep(0.5)  # the event log reaches the file within 50 ms

        step(4, "training on day 1's logs")
        run_step(
            botify_command(
                "train",
                str(run / "logs" / "day1"),
                "--catalog",
                str(world / "tracks.json"),
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
                "AA",
                "--out",
                str(run / "aa_day1"),
            ),
            run / "aa_day1.txt",
        )

        day2 = day2_config(base, run, world, redis_server.url, model)
        routing = routing_name(base)
        step(5, f"hot-loading the learned files; switching the service to {routing}")
        run_step(botify_command("load", "--config", str(day2)), run / "load.day2.txt")
        # Workers read the config file when they start: a graceful reload switches them.
        live_config.write_text(day2.read_text())
        service.reload(routing)

        step(6, f"day 2: {size.sessions} sessions of A/B experiment {routing}")
        simulate(2, args.seed + 1)
        service.stop()  # graceful: every queued event is written
        service = None

        step(7, "A/B report")
        run_step(
            botify_command(
                "ab", str(run / "logs" / "day2"), "--experiment", routing, "--out", str(run / "ab")
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
    args = parse_args(argv)

    def terminated(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminated)
    try:
        run_experiment(args)
    except (ConfigError, ExperimentError, RuntimeError) as error:
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
