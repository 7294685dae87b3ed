"""The remote agent over HTTP on this machine: one simulator process, sessions in flight.

    .venv/bin/python bench/sim_remote.py [--sessions 2000] [--in-flight 16,64] [--runs 3]
                                         [--worker-class gevent] [--compare-requests]

1. Against botify: `botify serve` (2 gunicorn workers, a Contextual -> Random chain on 100
   item-to-item neighbours per track, as bench/service.py measures it) on the default world.
   Before each client run, wrk (1 thread, 64 connections, as the service's own benchmark)
   measures the service's request rate; the client then runs `--sessions` sessions, and its
   share of that rate is its "of wrk". Target: the service is the bottleneck, the simulator
   reaching >= 70% of wrk's rate (its own CPU use shows it is not saturated).
2. The simulator's own capacity: the same against nginx answering /next with a constant-cost
   JSON (needs nginx), where the service costs next to nothing. Target: >= 5 x the course
   simulator's 127 sessions/s (864 requests/s).

Prints medians. `--compare-requests` also drives botify with a thread pool of keep-alive
requests.Sessions, the usual way, to show why the agent speaks raw HTTP/1.1 on asyncio.
Needs wrk (apt-get install wrk)."""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from sim_setup import OUT, ROOT, botify_config, item_to_item, sim_config, world

from bench.service import WRK_SCRIPT, run_wrk
from botify.redis_server import RedisServer, free_port
from lab.processes import Process, Processes, ServeProcess

COURSE_SESSIONS_PER_S = 127
WRK_CONNECTIONS = 64
NGINX_CONF = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  keepalive_timeout 75s;
  # a connection's request count is the answer's track: keep it inside the catalog
  keepalive_requests 40000;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  server {{
    listen 127.0.0.1:{port};
    location ~ ^/next/(\\d+)$ {{
      default_type application/json;
      return 200 '{{"user": $1, "track": $connection_requests}}';
    }}
    location ~ ^/last/(\\d+)$ {{ default_type application/json; return 200 '{{"user": $1}}'; }}
  }}
}}
"""


def nginx(work: Path, port: int) -> Process:
    conf = work / "nginx.conf"
    conf.write_text(NGINX_CONF.format(dir=work, port=port))
    return Process(["nginx", "-p", str(work), "-c", str(conf)])


def run_sim(config: Path, url: str, sessions: int, in_flight: int, seed: int) -> dict:
    command = [sys.executable, "-m", "sim.run", "--config", str(config), "--episodes",
               str(sessions), "single", "--recommender", "remote", "--url", url,
               "--sessions-in-flight", str(in_flight), "--seed", str(seed)]  # fmt: skip
    output = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    match = re.search(r"sessions in ([\d.]+) s .*CPU (\d+)%\); (\d+) requests", output)
    seconds = float(match.group(1))
    bad = int(re.search(r"(\d+) bad answers", output).group(1))
    return {
        "sessions_per_s": sessions / seconds,
        "requests_per_s": int(match.group(3)) / seconds,
        "cpu": int(match.group(2)) / 100,  # the simulator's own, over its sessions
        "bad": bad,
    }


def run_requests_pool(sim_yaml: Path, url: str, sessions: int, threads: int, seed: int) -> dict:
    """The same sessions driven by threads, each with a keep-alive requests.Session."""
    import requests

    from sim.config import load_config
    from sim.env import RecEnv
    from sim.schedule import plan_day
    from sim.world import load_world

    config = load_config(sim_yaml)
    the_world = load_world(config.world.paths(), config.user)
    queue = plan_day(seed, 1, sessions, the_world.n_users)
    lock = threading.Lock()
    counts = {"requests": 0}

    def worker() -> None:
        env, http = RecEnv(the_world), requests.Session()
        while True:
            with lock:
                if not queue:
                    return
                visits = queue.pop()
            for visit in visits:
                observation, _ = env.reset(seed=visit.seed, options={"user": visit.user})
                reward, done, n = 1.0, False, 0
                while not done:
                    body = {"track": observation["track"], "time": reward}
                    answer = http.post(f"{url}/next/{visit.user}", json=body, timeout=10).json()
                    observation, reward, done, truncated, _ = env.step(answer["track"])
                    n += 1
                body = {"track": observation["track"], "time": reward}
                http.post(f"{url}/last/{visit.user}", json=body, timeout=10)
                with lock:
                    counts["requests"] += n + 1

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    started = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    seconds = time.perf_counter() - started
    return {"sessions_per_s": sessions / seconds, "requests_per_s": counts["requests"] / seconds}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=2000, help="per botify run (x5: nginx)")
    parser.add_argument("--in-flight", default="16,64", help="sessions in flight to try")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration")
    parser.add_argument("--worker-class", default="gevent")
    parser.add_argument("--compare-requests", action="store_true")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("bench/sim_remote.py needs wrk: apt-get install wrk", file=sys.stderr)
        return 2
    directory = world()
    item_to_item(directory)
    OUT.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="remote-", dir=OUT))
    script = work / "next.lua"
    script.write_text(WRK_SCRIPT)
    in_flight = [int(n) for n in args.in_flight.split(",")]
    rows: dict[str, list[dict]] = {}
    wrk_rates: list[float] = []
    with RedisServer(port=free_port()) as redis_server:
        botify = botify_config(
            directory,
            [{"recommender": "contextual", "source": "i2i"}],
            redis_url=redis_server.url,
            name="remote.json",
        )
        subprocess.run([sys.executable, "-m", "botify", "load", "--config", str(botify)],
                       cwd=ROOT, check=True, stdout=subprocess.DEVNULL)  # fmt: skip
        with Processes() as started:
            server = started.add(ServeProcess(botify, worker_class=args.worker_class))
            url = server.url
            server.wait_healthy()
            sim_yaml = sim_config(directory)
            run_wrk(url, WRK_CONNECTIONS, 2, script)  # warm up
            clients = [(f"sim, {n} in flight", n) for n in in_flight]
            if args.compare_requests:
                clients.append(("requests.Session x 32 threads", 0))
            for run in range(args.runs):
                for name, n in clients:
                    # wrk right before each client: the machine's load drifts, so each client
                    # is judged against the service's rate of the same minute
                    wrk = run_wrk(url, WRK_CONNECTIONS, args.seconds, script).rps
                    wrk_rates.append(wrk)
                    if n:
                        result = run_sim(sim_yaml, url, args.sessions, n, seed=run)
                    else:
                        result = run_requests_pool(sim_yaml, url, args.sessions // 3, 32, run)
                    result["of_wrk"] = result["requests_per_s"] / wrk
                    rows.setdefault(name, []).append(result)
    capacity: dict[int, list[dict]] = {}
    if shutil.which("nginx"):
        port = free_port()
        with Processes() as started:
            server = started.add(nginx(work, port))
            server.wait_for(f"http://127.0.0.1:{port}/next/0", ok=(405, 200))
            for run in range(args.runs):
                for n in in_flight:
                    result = run_sim(
                        sim_yaml, f"http://127.0.0.1:{port}", 5 * args.sessions, n, run
                    )
                    capacity.setdefault(n, []).append(result)
    shutil.rmtree(work, ignore_errors=True)

    wrk_rate = statistics.median(wrk_rates)
    print(
        f"botify serve, 2 {args.worker_class} workers, Contextual -> Random, default world; "
        f"median of {args.runs} runs"
    )
    print(f"wrk -t1 -c{WRK_CONNECTIONS} POST /next: median {wrk_rate:.0f} requests/s "
          f"(runs: {[round(r) for r in wrk_rates]})")  # fmt: skip
    print()
    print("| client | sessions/s | x course (127) | requests/s | of wrk | client CPU |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, results in rows.items():
        sessions = statistics.median(r["sessions_per_s"] for r in results)
        rate = statistics.median(r["requests_per_s"] for r in results)
        cpu = statistics.median(r["cpu"] for r in results) if "cpu" in results[0] else None
        of_wrk = statistics.median(r["of_wrk"] for r in results)
        print(
            f"| {name} | {sessions:.0f} | {sessions / COURSE_SESSIONS_PER_S:.1f} | {rate:.0f} | "
            f"{of_wrk:.0%} | {'-' if cpu is None else f'{cpu:.0%}'} |"
        )
    if capacity:
        print()
        print("The simulator's capacity, against nginx answering at next to no cost:")
        print()
        print("| sessions in flight | sessions/s | x course (127) | requests/s | client CPU |")
        print("|---:|---:|---:|---:|---:|")
        for n, results in capacity.items():
            sessions = statistics.median(r["sessions_per_s"] for r in results)
            rate = statistics.median(r["requests_per_s"] for r in results)
            cpu = statistics.median(r["cpu"] for r in results)
            print(
                f"| {n} | {sessions:.0f} | {sessions / COURSE_SESSIONS_PER_S:.1f} | {rate:.0f} | "
                f"{cpu:.0%} |"
            )
    else:
        print("\n(no nginx on PATH: the capacity measurement was skipped)")
    every = [r for results in [*rows.values(), *capacity.values()] for r in results]
    if any(r.get("bad") for r in every):
        print("bad answers occurred: see the runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
