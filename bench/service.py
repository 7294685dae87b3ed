"""Service benchmark: POST /next throughput and latency percentiles of what users run (the
shipped config.json on the files `botify experiment` writes, into a log that already holds a day
of events), beside yardsticks under the same gunicorn settings, in one run; and load time and time
to ready.

    .venv/bin/python bench/service.py [--run RUN] [--seconds 10] [--rounds 2]
        [--connections 16,64,256,1000] [--course DIR --course-python PYTHON] [--baseline DIR]
        [--cluster-replicas 1] [--no-cluster]

Targets, each served by 2 gunicorn workers of `--worker-class` (gevent, as botify serve):
- constant: a Flask + flask-restful app answering a constant (bench/constant_app.py);
- redis yardstick: the same, after the Redis round trips botify makes for the shipped chains
  (bench/redis_app.py);
- the course's service (only with `--course`): the course's own botify (its `botify/` folder:
  server.py, data/) under the same gunicorn settings and its own Redis, on its own data files
  (the bench's catalog where its checkout lacks data/tracks.json); `--course-python` is an
  interpreter with its requirements.txt installed;
- botify, shipped chains: config.json's experiments as they are, on the learned files and the
  catalog of a `botify experiment` run (`--run`, runs/latest; made here in bench/out/ if there
  is none), logging into a folder that already holds that run's day-2 log (what users serve);
- botify at `--baseline DIR` (optional): another checkout's shipped chains (a git worktree of
  the commit before a change) on the same config and a log of its own: before and after in one
  run, taking turns;
- easier cases, named as such: botify with a no-state chain (Contextual on the same files: no
  user state read or written), and the shipped chains on a local Redis Cluster of 3 masters
  with a replica each (`--cluster-replicas`), as docker-compose.cluster.yml runs it: the cost
  of the cluster client and replication (on one machine a cluster cannot be faster).
wrk runs with 1 thread in its own process on this machine, random users (0-9,999), tracks
(0-49,999) and listened fractions; the users' state in Redis is emptied before each connection
count. Each figure is the median of `--rounds` runs of `--seconds`, the targets taking turns;
percentiles are wrk's (p50, p90, p99, p99.9 of every request of the run); "of constant" is the
request rate over the constant app's at the same connections. For the shipped chains the bench
also counts the lines their log gained against the answers wrk saw (wrk stops with up to one
request per connection answered but not counted). Needs wrk (`apt-get install wrk`); generated
data goes to bench/out/.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from botify.config import load_config  # noqa: E402
from botify.loader import load  # noqa: E402
from botify.redis_server import LocalCluster, RedisServer, free_port  # noqa: E402
from botify.store import Client, connect  # noqa: E402
from lab.processes import Process, Processes, ServeProcess, serve_command  # noqa: E402

OUT = ROOT / "bench" / "out"
PERCENTILES = (50, 90, 99, 99.9)

WRK_SCRIPT = """
math.randomseed(42)
request = function()
  local user = math.random(0, 9999)
  local track = math.random(0, 49999)
  local body = string.format('{"track": %d, "time": %.2f}', track, math.random())
  return wrk.format("POST", "/next/" .. user, {["Content-Type"] = "application/json"}, body)
end
done = function(summary, latency, requests)
  for _, p in ipairs({50, 90, 99, 99.9}) do
    io.write(string.format("percentile %g %d\\n", p, latency:percentile(p)))
  end
end
"""

NO_STATE_CHAIN = [{"recommender": "contextual", "source": "i2i"}]


def experiment_run(run: Path | None) -> Path:
    """A finished `botify experiment` run: `run`, else runs/latest, else one made here."""
    if run is not None:
        if not (run / "config.day2.json").exists():
            raise SystemExit(f"--run {run}: not a finished botify experiment run")
        return run.resolve()
    made = OUT / "experiment"
    for candidate in (ROOT / "runs" / "latest", made / "latest"):
        if (candidate / "config.day2.json").exists():
            return candidate.resolve()
    print("bench/service.py: no botify experiment run: making one in bench/out/ (~5 min)")
    subprocess.run(
        [sys.executable, "-m", "botify", "experiment", "--out", str(made)], cwd=ROOT, check=True
    )
    return (made / "latest").resolve()


def write_config(
    path: Path, run: Path, url: str, experiments: list | None = None, day_log: Path | None = None
) -> Path:
    """config.json as shipped, on the bench's Redis and the run's files; `experiments` replaces
    its experiments (routed by the first). Its log folder starts with `day_log` in it."""
    config = json.loads((ROOT / "config.json").read_text())
    log_dir = path.parent / f"log-{path.stem}"
    log_dir.mkdir()
    if day_log is not None:
        shutil.copy(day_log, log_dir / config.get("log_file", "events.jsonl"))
    config |= {
        "redis_url": url,
        "log_dir": str(log_dir),
        "swap_grace_seconds": 0,
        "data": json.loads((run / "config.day2.json").read_text())["data"],
    }
    if experiments is not None:
        config |= {"experiments": experiments, "routing_experiment": experiments[0]["name"]}
    path.write_text(json.dumps(config, indent=1))
    return path


def gunicorn_server(
    app: str,
    port: int,
    worker_class: str,
    python: str = sys.executable,
    cwd: Path = ROOT,
    log: Path | None = None,
) -> Process:
    """A Flask app under botify serve's gunicorn settings."""
    command = [
        python,
        "-m",
        "gunicorn",
        app,
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "2",
        "--worker-class",
        worker_class,
        "--keep-alive",
        "75",
        "--log-level",
        "warning",
    ]
    if worker_class == "gevent":
        command += ["--worker-connections", "1000"]
    if worker_class == "gthread":
        command += ["--threads", "4"]
    return Process(command, log, cwd=cwd)


def course_service(course: Path, python: str, catalog: Path, redis_url: str, work: Path) -> Path:
    """A copy of the course's botify folder whose config.json points at the bench's Redis (its
    six databases) and a log folder of its own; its catalog is the bench's where it has none."""
    copy = work / "course"
    shutil.copytree(course, copy, ignore=shutil.ignore_patterns("log", ".git"))
    (copy / "log").mkdir(exist_ok=True)
    if not (copy / "data" / "tracks.json").exists():
        shutil.copy(catalog, copy / "data" / "tracks.json")
    config_path = copy / "botify" / "config.json"
    config = json.loads(config_path.read_text())
    host, port = redis_url.removeprefix("redis://").split("/")[0].split(":")
    for key in config:
        if key.endswith("_HOST"):
            config[key] = host
        elif key.endswith("_PORT") and key.startswith("REDIS"):
            config[key] = int(port)
    config_path.write_text(json.dumps(config, indent=1))
    check = subprocess.run([python, "-c", "import flask_redis, pythonjsonlogger, mmh3"], cwd=copy)
    if check.returncode != 0:
        raise SystemExit(
            f"--course-python {python}: lacks the course's requirements (pip install -r "
            f"{course}/requirements.txt)"
        )
    return copy


@dataclass
class Run:
    rps: float
    percentiles_ms: dict[float, float]
    requests: int
    non2xx: int
    socket_errors: int


def run_wrk(url: str, connections: int, seconds: int, script: Path) -> Run:
    output = subprocess.run(
        # A 10 s timeout, as the course's simulator clients have: a slow answer is a latency.
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", str(script)]
        + [url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return Run(
        rps=float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        percentiles_ms={
            float(p): int(us) / 1000 for p, us in re.findall(r"percentile ([\d.]+) (\d+)", output)
        },
        requests=int(re.search(r"(\d+) requests in", output).group(1)),
        non2xx=int(non2xx.group(1)) if non2xx else 0,
        socket_errors=sum(map(int, socket.groups())) if socket else 0,
    )


def measure_load(config_path: Path, client: Client, runs: int) -> list[float]:
    config = load_config(config_path)
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        load(config, client, force=True, grace=0, processes=os.cpu_count() or 1)
        seconds.append(time.perf_counter() - started)
    return seconds


def measure_ready(config_path: Path, runs: int) -> list[float]:
    seconds = []
    for _ in range(runs):
        with Processes() as started:
            seconds.append(started.add(ServeProcess(config_path)).wait_healthy(timeout=30))
    return seconds


@dataclass
class Target:
    name: str
    url: str
    log: Path | None = None  # a botify target's live log file: its lines are counted


def log_lines(path: Path) -> int:
    """The lines of a live log file and its rotated backups (a run may rotate it)."""
    lines = 0
    for part in path.parent.glob(f"{path.name}*"):
        if part.name != path.name and not part.name.removeprefix(f"{path.name}.").isdigit():
            continue  # the lock file
        with open(part, "rb") as file:
            lines += sum(block.count(b"\n") for block in iter(lambda: file.read(1 << 20), b""))
    return lines


def empty_user_state(client: Client, namespace: str) -> None:
    keys = list(client.scan_iter(f"{namespace}:u:*", count=10_000))
    for start in range(0, len(keys), 10_000):
        client.delete(*keys[start : start + 10_000])


def measure(
    targets: list[Target], levels: list[int], args, script: Path, clients: list[Client]
) -> dict[tuple[str, int], dict]:
    """The median of `args.rounds` wrk runs per target and connections, targets taking turns."""
    figures: dict[tuple[str, int], dict] = {}
    for connections in levels:
        for client in clients:
            empty_user_state(client, "botify")
        runs: dict[str, list[Run]] = {target.name: [] for target in targets}
        logged = dict.fromkeys(runs, 0)
        for target in targets:
            run_wrk(target.url, connections, 2, script)  # warm up
        for _ in range(args.rounds):
            for target in targets:
                before = log_lines(target.log) if target.log else 0
                runs[target.name].append(run_wrk(target.url, connections, args.seconds, script))
                if target.log:
                    time.sleep(0.2)  # the writers' last batches
                    logged[target.name] += log_lines(target.log) - before
        for name, results in runs.items():
            figures[(name, connections)] = {
                "rps": statistics.median(r.rps for r in results),
                "ms": {
                    p: statistics.median(r.percentiles_ms[p] for r in results) for p in PERCENTILES
                },
                "requests": sum(r.requests for r in results),
                "non2xx": sum(r.non2xx for r in results),
                "socket": sum(r.socket_errors for r in results),
                "logged": logged[name],
            }
    return figures


def print_table(targets: list[Target], levels: list[int], figures: dict) -> None:
    print(
        "| target | connections | req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | non-2xx | "
        "socket errors | of constant | log lines gained |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for connections in levels:
        constant = figures[(targets[0].name, connections)]["rps"]
        for target in targets:
            f = figures[(target.name, connections)]
            ms = " | ".join(f"{f['ms'][p]:.1f}" for p in PERCENTILES)
            logged = f"{f['logged']} (answers seen {f['requests']})" if target.log else ""
            print(
                f"| {target.name} | {connections} | {f['rps']:.0f} | {ms} | "
                f"{f['non2xx']} of {f['requests']} | {f['socket']} | "
                f"{f['rps'] / constant:.2f} | {logged} |",
                flush=True,
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, help="a botify experiment run folder (runs/latest)")
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration per run (10)")
    parser.add_argument("--rounds", type=int, default=2, help="wrk runs per figure (2)")
    parser.add_argument(
        "--connections", default="16,64,256,1000", help="wrk connections (16,64,256,1000)"
    )
    parser.add_argument("--worker-class", default="gevent", help="gunicorn worker class (gevent)")
    parser.add_argument("--runs", type=int, default=3, help="repetitions of load/ready (3)")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="another botify checkout (a worktree of an earlier commit): its shipped chains beside",
    )
    parser.add_argument("--course", type=Path, help="the course's botify folder (server beside)")
    parser.add_argument(
        "--course-python", default=sys.executable, help="a Python with the course's requirements"
    )
    parser.add_argument(
        "--cluster-replicas", type=int, default=1, help="replicas per cluster master (1)"
    )
    parser.add_argument("--no-cluster", action="store_true", help="leave out the cluster row")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("bench/service.py needs wrk: apt-get install wrk", file=sys.stderr)
        return 2
    levels = [int(c) for c in args.connections.split(",")]
    # wrk and the servers each hold a descriptor per connection.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    run = experiment_run(args.run)
    day_log = run / "logs" / "day2" / load_config(run / "config.day2.json")["log_file"]
    OUT.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="service-", dir=OUT))
    script = work / "next.lua"
    script.write_text(WRK_SCRIPT)
    print(f"botify experiment run: {run} (day-2 log {day_log.stat().st_size / 1e6:.0f} MB)")
    with contextlib.ExitStack() as stack:
        redis_server = stack.enter_context(RedisServer(port=free_port(), maxmemory_mb=0))
        shipped = write_config(work / "shipped.json", run, redis_server.url, day_log=day_log)
        no_state = write_config(
            work / "no_state.json",
            run,
            redis_server.url,
            [{"name": "BENCH", "arms": {"C": NO_STATE_CHAIN}}],
        )
        client = connect(redis_server.url, timeout=30)
        clients = [client]
        loads = measure_load(shipped, client, args.runs)
        print(
            f"botify load (the run's catalog and learned files): median "
            f"{statistics.median(loads):.2f} s of {[round(s, 2) for s in loads]}"
        )
        on_cluster = None
        if not args.no_cluster:
            cluster = stack.enter_context(LocalCluster(masters=3, replicas=args.cluster_replicas))
            on_cluster = write_config(work / "cluster.json", run, cluster.url, day_log=day_log)
            clients.append(connect(cluster.url, timeout=30))
            loads = measure_load(on_cluster, clients[-1], args.runs)
            print(
                f"botify load on the cluster (3 masters, {args.cluster_replicas} replicas each): "
                f"median {statistics.median(loads):.2f} s of {[round(s, 2) for s in loads]}"
            )
        course = None
        if args.course is not None:
            course_redis = stack.enter_context(RedisServer(port=free_port(), maxmemory_mb=0))
            catalog = Path(load_config(shipped)["data"]["catalog"])
            course = course_service(
                args.course, args.course_python, catalog, course_redis.url, work
            )
        ready = measure_ready(shipped, args.runs)
        print(
            f"botify serve ready (data already loaded): median {statistics.median(ready):.2f} s "
            f"of {[round(s, 2) for s in ready]}"
        )
        routing = load_config(shipped)["routing_experiment"]
        with Processes() as started:
            constant_port, yardstick_port = free_port(), free_port()
            constant = started.add(
                gunicorn_server("bench.constant_app:app", constant_port, args.worker_class)
            )
            yardstick = started.add(
                gunicorn_server(
                    f"bench.redis_app:create_app({str(shipped)!r})",
                    yardstick_port,
                    args.worker_class,
                )
            )
            waiting = [(constant, constant_port), (yardstick, yardstick_port)]
            targets = [
                Target("constant (flask-restful)", f"http://127.0.0.1:{constant_port}"),
                Target(
                    f"redis yardstick ({routing}'s round trips)",
                    f"http://127.0.0.1:{yardstick_port}",
                ),
            ]
            if course is not None:
                course_port = free_port()
                waiting.append(
                    (
                        started.add(
                            gunicorn_server(
                                "botify.server:app",
                                course_port,
                                args.worker_class,
                                python=args.course_python,
                                cwd=course,
                                log=work / "course.log",
                            )
                        ),
                        course_port,
                    )
                )
                targets.append(Target("the course's service", f"http://127.0.0.1:{course_port}"))
            shipped_service = started.add(ServeProcess(shipped, worker_class=args.worker_class))
            no_state_service = started.add(ServeProcess(no_state, worker_class=args.worker_class))
            for server, port in waiting:
                server.wait_for(f"http://127.0.0.1:{port}/nowhere", ok=(404,), timeout=300)
            shipped_service.wait_healthy(timeout=30)
            no_state_service.wait_healthy(timeout=30)
            shipped_log = Path(load_config(shipped)["log_dir"]) / day_log.name
            if args.baseline is not None:
                baseline = write_config(
                    work / "baseline.json", run, redis_server.url, day_log=day_log
                )
                baseline_port = free_port()
                started.add(
                    Process(
                        serve_command(baseline, baseline_port, worker_class=args.worker_class),
                        cwd=args.baseline.resolve(),
                    )
                ).wait_for(f"http://127.0.0.1:{baseline_port}/healthz", timeout=60)
                targets.append(
                    Target(
                        f"botify at {args.baseline}, shipped chains",
                        f"http://127.0.0.1:{baseline_port}",
                        Path(load_config(baseline)["log_dir"]) / day_log.name,
                    )
                )
            targets += [
                Target(f"botify, shipped chains ({routing})", shipped_service.url, shipped_log),
                Target("easier: botify, no-state chain (Contextual only)", no_state_service.url),
            ]
            if on_cluster is not None:
                cluster_service = started.add(
                    ServeProcess(on_cluster, worker_class=args.worker_class)
                )
                cluster_service.wait_healthy(timeout=30)
                targets.append(
                    Target(
                        f"easier: botify, shipped chains on a 3-master cluster "
                        f"({args.cluster_replicas} replicas each)",
                        cluster_service.url,
                    )
                )
            print()
            print_table(targets, levels, measure(targets, levels, args, script, clients))
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
