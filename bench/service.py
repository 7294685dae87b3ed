"""Service benchmark: load time, time to ready, and POST /next throughput of the chains that
config.json ships, beside three yardsticks under the same gunicorn settings, in one run.

    .venv/bin/python bench/service.py [--seconds 10] [--rounds 2] [--connections 16,64,256]
        [--cluster-replicas 1] [--no-cluster]

Targets, each served by 2 gunicorn workers of `--worker-class` (gevent, as botify serve):
- constant: a Flask + flask-restful app answering a constant (bench/constant_app.py);
- redis yardstick: the same, after the Redis round trips botify makes for the shipped chains
  (bench/redis_app.py);
- no-state chain: botify with a Contextual -> Random chain (every list held in memory);
- shipped chains: botify with config.json's experiments as they are (STICKY_VS_LEARNED and its
  A/A), on learned files of the shape `botify train` writes (top tracks, 100 item-to-item
  neighbours per track, 100 tracks per user), generated here;
- shipped chains on a Redis Cluster: the same, its Redis a local cluster of 3 masters with a
  replica each (`--cluster-replicas`, 1), as docker-compose.cluster.yml runs it, on this machine
  (botify.redis_server.LocalCluster): the cost of the cluster client, of a request touching two
  nodes (its user's, the version key's) and of replication; on one machine a cluster cannot be
  faster.
The dataset has the course's size: 50,000 tracks of 11,000 artists, 10,000 users. wrk runs with
1 thread in its own process on this machine, random users, tracks and listened fractions; the
users' state in Redis is emptied before each connection count. Each figure is the median of
`--rounds` runs of `--seconds`, the targets taking turns; "of constant" is the request rate over
the constant app's at the same connections. Needs wrk (`apt-get install wrk`); generated data goes
to bench/out/.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
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

from bench.service_data import make_dataset  # noqa: E402
from botify.config import load_config  # noqa: E402
from botify.loader import load  # noqa: E402
from botify.redis_server import LocalCluster, RedisServer, free_port  # noqa: E402
from botify.store import Client, connect  # noqa: E402
from lab.processes import Process, Processes, ServeProcess  # noqa: E402

OUT = ROOT / "bench" / "out"

WRK_SCRIPT = """
math.randomseed(42)
request = function()
  local user = math.random(0, 9999)
  local track = math.random(0, 49999)
  local body = string.format('{"track": %d, "time": %.2f}', track, math.random())
  return wrk.format("POST", "/next/" .. user, {["Content-Type"] = "application/json"}, body)
end
"""

NO_STATE_CHAIN = [{"recommender": "contextual", "source": "i2i"}]


def data_section(data: Path) -> dict:
    """The bench's files under the source names config.json gives the learned files."""
    return {
        "catalog": str(data / "tracks.json"),
        "top_tracks": str(data / "top_tracks.json"),
        "item_recommendations": {"i2i": str(data / "i2i.json")},
        "user_recommendations": {"als": str(data / "recommendations_ub.json")},
    }


def write_config(path: Path, data: Path, url: str, experiments: list | None = None) -> Path:
    """config.json as shipped, on the bench's Redis and data; `experiments` replaces its
    experiments (routed by the first)."""
    config = json.loads((ROOT / "config.json").read_text())
    config |= {
        "redis_url": url,
        "log_dir": str(path.parent / f"log-{path.stem}"),
        "swap_grace_seconds": 0,
        "data": data_section(data),
    }
    if experiments is not None:
        config |= {"experiments": experiments, "routing_experiment": experiments[0]["name"]}
    path.write_text(json.dumps(config, indent=1))
    return path


def gunicorn_server(app: str, port: int, worker_class: str) -> Process:
    """A Flask app under botify serve's gunicorn settings."""
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
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
    return Process(command)


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


def run_wrk(url: str, connections: int, seconds: int, script: Path) -> dict:
    output = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)\b", output)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", output)
    total = int(re.search(r"(\d+) requests in", output).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    kinds = ("connect", "read", "write", "timeout")
    errors = dict(zip(kinds, map(int, socket.groups()), strict=True)) if socket else {}
    non2xx_count = int(non2xx.group(1)) if non2xx else 0
    return {
        "rps": rps,
        "p50_ms": _ms(*p50.groups()),
        "p99_ms": _ms(*p99.groups()),
        "requests": total,
        "failed": non2xx_count + sum(errors.values()),
        "non2xx": non2xx_count,
        "socket_errors": errors,
    }


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
        runs: dict[str, list[dict]] = {target.name: [] for target in targets}
        for target in targets:
            run_wrk(target.url, connections, 2, script)  # warm up
        for _ in range(args.rounds):
            for target in targets:
                runs[target.name].append(run_wrk(target.url, connections, args.seconds, script))
        for name, results in runs.items():
            figures[(name, connections)] = {
                "rps": statistics.median(r["rps"] for r in results),
                "p50_ms": statistics.median(r["p50_ms"] for r in results),
                "p99_ms": statistics.median(r["p99_ms"] for r in results),
                "requests": sum(r["requests"] for r in results),
                "non2xx": sum(r["non2xx"] for r in results),
                "socket": sum(sum(r["socket_errors"].values()) for r in results),
            }
    return figures


def print_table(targets: list[Target], levels: list[int], figures: dict) -> None:
    print(
        "| target | connections | req/s | p50 ms | p99 ms | non-2xx | socket errors | of constant |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for connections in levels:
        constant = figures[(targets[0].name, connections)]["rps"]
        for target in targets:
            f = figures[(target.name, connections)]
            print(
                f"| {target.name} | {connections} | {f['rps']:.0f} | {f['p50_ms']:.1f} | "
                f"{f['p99_ms']:.1f} | {f['non2xx']} of {f['requests']} | {f['socket']} | "
                f"{f['rps'] / constant:.2f} |",
                flush=True,
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration per run (10)")
    parser.add_argument("--rounds", type=int, default=2, help="wrk runs per figure (2)")
    parser.add_argument("--connections", default="16,64,256", help="wrk connections (16,64,256)")
    parser.add_argument("--worker-class", default="gevent", help="gunicorn worker class (gevent)")
    parser.add_argument("--runs", type=int, default=3, help="repetitions of load/ready (3)")
    parser.add_argument(
        "--cluster-replicas", type=int, default=1, help="replicas per cluster master (1)"
    )
    parser.add_argument("--no-cluster", action="store_true", help="leave out the cluster row")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("bench/service.py needs wrk: apt-get install wrk", file=sys.stderr)
        return 2
    levels = [int(c) for c in args.connections.split(",")]
    data = make_dataset(OUT / "service_data")
    work = Path(tempfile.mkdtemp(prefix="service-", dir=OUT))
    script = work / "next.lua"
    script.write_text(WRK_SCRIPT)
    with contextlib.ExitStack() as stack:
        redis_server = stack.enter_context(RedisServer(port=free_port(), maxmemory_mb=0))
        shipped = write_config(work / "shipped.json", data, redis_server.url)
        no_state = write_config(
            work / "no_state.json",
            data,
            redis_server.url,
            [{"name": "BENCH", "arms": {"C": NO_STATE_CHAIN}}],
        )
        client = connect(redis_server.url, timeout=30)
        clients = [client]
        loads = measure_load(shipped, client, args.runs)
        print(
            f"botify load (50k tracks, 11k artists, 5M i2i ids, 1M user ids): median "
            f"{statistics.median(loads):.2f} s of {[round(s, 2) for s in loads]}"
        )
        on_cluster = None
        if not args.no_cluster:
            cluster = stack.enter_context(LocalCluster(masters=3, replicas=args.cluster_replicas))
            on_cluster = write_config(work / "cluster.json", data, cluster.url)
            clients.append(connect(cluster.url, timeout=30))
            loads = measure_load(on_cluster, clients[-1], args.runs)
            print(
                f"botify load on the cluster (3 masters, {args.cluster_replicas} replicas each): "
                f"median {statistics.median(loads):.2f} s of {[round(s, 2) for s in loads]}"
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
            no_state_service = started.add(ServeProcess(no_state, worker_class=args.worker_class))
            shipped_service = started.add(ServeProcess(shipped, worker_class=args.worker_class))
            for server, port in ((constant, constant_port), (yardstick, yardstick_port)):
                server.wait_for(f"http://127.0.0.1:{port}/nowhere", ok=(404,))
            no_state_service.wait_healthy(timeout=30)
            shipped_service.wait_healthy(timeout=30)
            targets = [
                Target("constant (flask-restful)", f"http://127.0.0.1:{constant_port}"),
                Target(
                    f"redis yardstick ({routing}'s round trips)",
                    f"http://127.0.0.1:{yardstick_port}",
                ),
                Target("botify, no-state chain (Contextual -> Random)", no_state_service.url),
                Target(f"botify, shipped chains ({routing})", shipped_service.url),
            ]
            if on_cluster is not None:
                cluster_service = started.add(
                    ServeProcess(on_cluster, worker_class=args.worker_class)
                )
                cluster_service.wait_healthy(timeout=30)
                targets.append(
                    Target(
                        f"botify, shipped chains on a 3-master cluster "
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
