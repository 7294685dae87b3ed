"""Service benchmark: load time, time to ready, and POST /next throughput beside a constant-answer
Flask app under the same gunicorn settings.

    .venv/bin/python bench/service.py [--seconds 10] [--worker-classes gevent,gthread] [--runs 3]

Needs wrk (`apt-get install wrk`). wrk runs with 1 thread in its own process on this machine,
as the course measured its service. Prints a table; generated data goes to bench/out/.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.service_data import make_dataset  # noqa: E402
from botify.config import load_config  # noqa: E402
from botify.loader import load  # noqa: E402
from botify.redis_server import RedisServer, free_port  # noqa: E402
from botify.store import connect  # noqa: E402
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


def write_config(directory: Path, data: Path, url: str) -> Path:
    config = {
        "redis_url": url,
        "log_dir": str(directory / "log"),
        "swap_grace_seconds": 0,
        "data": {
            "catalog": str(data / "tracks.json"),
            "top_tracks": str(data / "top_tracks.json"),
            "item_recommendations": {"i2i": str(data / "i2i.json")},
            "user_recommendations": {"ub": str(data / "recommendations_ub.json")},
        },
        "experiments": [
            {"name": "BENCH", "arms": {"C": [{"recommender": "contextual", "source": "i2i"}]}}
        ],
    }
    path = directory / "config.json"
    path.write_text(json.dumps(config, indent=1))
    return path


def constant_server(port: int, worker_class: str) -> Process:
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "bench.constant_app:app",
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


def run_wrk(url: str, connections: int, seconds: int, script: Path) -> dict:
    output = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", output)
    p99_ms = float(p99.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[p99.group(2)]
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
        "p99_ms": p99_ms,
        "requests": total,
        "failed": non2xx_count + sum(errors.values()),
        "non2xx": non2xx_count,
        "socket_errors": errors,
    }


def measure_load(config_path: Path, client: redis.Redis, runs: int) -> list[float]:
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration per run (10)")
    parser.add_argument("--worker-classes", default="gevent,gthread", help="gunicorn classes")
    parser.add_argument("--runs", type=int, default=3, help="repetitions of load/ready (3)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("bench/service.py needs wrk: apt-get install wrk", file=sys.stderr)
        return 2
    data = make_dataset(OUT / "service_data")
    work = Path(tempfile.mkdtemp(prefix="service-", dir=OUT))
    script = work / "next.lua"
    script.write_text(WRK_SCRIPT)
    with RedisServer(port=free_port()) as redis_server:
        config_path = write_config(work, data, redis_server.url)
        client = connect(redis_server.url, timeout=30)
        loads = measure_load(config_path, client, args.runs)
        print(
            f"botify load (50k tracks, 11k artists, 5M i2i ids, 1M user ids): median "
            f"{statistics.median(loads):.2f} s of {[round(s, 2) for s in loads]}"
        )
        ready = measure_ready(config_path, args.runs)
        print(
            f"botify serve ready (data already loaded): median {statistics.median(ready):.2f} s "
            f"of {[round(s, 2) for s in ready]}"
        )
        print()
        print(
            "| worker class | connections | botify /next req/s | p99 ms | failed | constant app "
            "req/s | p99 ms | botify / constant |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for worker_class in args.worker_classes.split(","):
            constant_port = free_port()
            with Processes() as started:
                botify = started.add(ServeProcess(config_path, worker_class=worker_class))
                constant = started.add(constant_server(constant_port, worker_class))
                botify.wait_healthy(timeout=30)
                botify_port = botify.port
                constant.wait_for(f"http://127.0.0.1:{constant_port}/nowhere", ok=(404,))
                for connections in (16, 64):
                    run_wrk(f"http://127.0.0.1:{botify_port}", connections, 2, script)  # warm up
                    ours = run_wrk(
                        f"http://127.0.0.1:{botify_port}", connections, args.seconds, script
                    )
                    run_wrk(f"http://127.0.0.1:{constant_port}", connections, 2, script)
                    theirs = run_wrk(
                        f"http://127.0.0.1:{constant_port}", connections, args.seconds, script
                    )
                    print(
                        f"| {worker_class} | {connections} | {ours['rps']:.0f} | "
                        f"{ours['p99_ms']:.1f} | {ours['failed']} of {ours['requests']} | "
                        f"{theirs['rps']:.0f} | {theirs['p99_ms']:.1f} | "
                        f"{ours['rps'] / theirs['rps']:.2f} |",
                        flush=True,
                    )
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
