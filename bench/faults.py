"""Silent failures, rerun: each fault of issue 10's table against a real gunicorn, a real Redis,
a real full disk (a 1 MiB tmpfs as the log folder) and hostile clients; one line per case.

    .venv/bin/python bench/faults.py [--tree PATH] [--seconds 5]

`--tree` runs the service from another checkout of botify (e.g. an older commit, for the
figures before a fix): its `python -m botify serve` with this venv's packages. Needs wrk
(apt-get install wrk) and root (to mount the tmpfs).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.service import run_wrk  # noqa: E402
from botify.redis_server import RedisServer, free_port  # noqa: E402
from lab.processes import Process  # noqa: E402
from tests.conftest import small_dataset, write_broken_plugin  # noqa: E402

WRK_NEXT = """
math.randomseed(7)
request = function()
  local body = string.format('{"track": %d, "time": %.2f}', math.random(0, 99), math.random())
  return wrk.format("POST", "/next/" .. math.random(0, 9999), {}, body)
end
"""
CHAIN = [{"recommender": "contextual", "source": "i2i", "no_repeat": True}, "random"]


class Service:
    """`botify serve` from `tree` on a config written in `work`."""

    def __init__(self, tree: Path, work: Path, redis_url: str, log_dir: Path, **values):
        self.tree, self.work = tree, work
        config = {
            "redis_url": redis_url,
            "data": small_dataset(work / "data"),
            "log_dir": str(log_dir),
            "experiments": [{"name": "EXP", "arms": {"C": values.pop("chain", CHAIN)}}],
            **values,
        }
        self.config = work / "config.json"
        self.config.write_text(json.dumps(config))
        self.env = {**os.environ, "PYTHONPATH": str(tree)}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: Process | None = None

    def load(self) -> None:
        subprocess.run(
            [sys.executable, "-m", "botify", "load", "--config", str(self.config)],
            cwd=self.tree, env=self.env, check=True, capture_output=True,
        )  # fmt: skip

    def start(self, workers: int = 2) -> Service:
        command = [sys.executable, "-m", "botify", "serve", "--config", str(self.config),
                   "--port", str(self.port), "--workers", str(workers)]  # fmt: skip
        self.process = Process(command, self.work / "serve.log", cwd=self.tree, env=self.env)
        self.process.wait_for(self.url + "/", ok=None, timeout=60)
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    def post(self, path: str, **kwargs) -> requests.Response:
        return requests.post(self.url + path, json={"track": 1, "time": 0.5}, timeout=10, **kwargs)


def logged(log_dir: Path) -> tuple[int, int]:
    """(whole lines, torn lines) in the log folder's event files."""
    whole = torn = 0
    for path in log_dir.glob("events.jsonl*"):
        if path.suffix == ".lock":
            continue
        for line in path.read_bytes().split(b"\n"):
            if not line:
                continue
            try:
                json.loads(line)
                whole += 1
            except ValueError:
                torn += 1
    return whole, torn


def case_connections(tree, work, redis_url, seconds) -> list[str]:
    service = Service(tree, work / "conn", redis_url, work / "conn" / "log")
    service.load()
    service.start()
    script = work / "next.lua"
    script.write_text(WRK_NEXT)
    lines = []
    try:
        for connections in (256, 1000):
            result = run_wrk(service.url, connections, seconds, script)
            lines.append(
                f"wrk -c{connections} on /next (no_repeat chain, 2 gevent workers): "
                f"{result.non2xx:,} non-2xx of {result.requests:,} answers; socket errors "
                f"{result.socket_errors} (wrk's 10 s timeout)"
            )
    finally:
        service.stop()
    return lines


def case_full_disk(tree, work, redis_url) -> list[str]:
    mount = work / "full"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], check=True)
    # The retry bound is new: an older tree refuses the key, and keeps no event anyway.
    retry = {"log_retry_seconds": 1.0} if tree == ROOT else {}
    service = Service(tree, work / "disk", redis_url, mount, **retry)
    try:
        service.load()
        service.start(workers=1)
        answered = 0
        session = requests.Session()
        for user in range(8000):
            answer = session.post(f"{service.url}/next/{user % 500}",
                                  json={"track": user % 100, "time": 0.5}, timeout=10)  # fmt: skip
            answered += answer.status_code == 200
        time.sleep(1.5)  # past the retry bound
        health = requests.get(service.url + "/healthz", timeout=10)
        service.stop()
        whole, torn = logged(mount)
        lost_file = mount / "lost_events.ndjson"
        records = (
            [json.loads(line) for line in lost_file.read_text().splitlines()]
            if lost_file.exists()
            else []
        )
        recorded = sum(record["lost"] for record in records)
        failing = bool(records) and records[-1].get("still_failing", False)
        return [
            f"log folder full (1 MiB tmpfs): {answered:,} answered, {whole:,} logged, "
            f"{answered - whole:,} not logged, {torn} torn lines; /healthz before the stop: "
            f"{health.status_code} {health.text.strip()[:160]}; lost_events.ndjson: {recorded:,} "
            f"in {len(records)} records (the last says still failing: {failing})"
        ]
    finally:
        service.stop()
        subprocess.run(["umount", str(mount)], check=False)


def case_emptied_redis(tree, work) -> list[str]:
    server = RedisServer(port=free_port()).start()
    try:
        chain = [{"recommender": "top_pop", "ranked": True}]
        first = Service(tree, work / "empty1", server.url, work / "empty1" / "log", chain=chain)
        first.load()
        first.start()
        before = first.post("/next/1").json()["track"]
        redis.Redis.from_url(server.url).flushall()
        time.sleep(0.3)
        health = requests.get(first.url + "/healthz", timeout=10).status_code
        second = Service(tree, work / "empty2", server.url, work / "empty2" / "log", chain=chain)
        (work / "empty2" / "data" / "top.json").write_text(json.dumps(list(range(99, -1, -1))))
        second.load()
        after = [first.post(f"/next/{u}").json().get("track") for u in range(20)]
        first.stop()
        stale = sum(track != 99 for track in after)
        return [
            f"Redis emptied and reloaded with new data: /healthz while empty {health}; top track "
            f"{before} before, {stale} of 20 answers after the reload still from the old data"
        ]
    finally:
        server.stop()


def raw(port: int, data: bytes, close_write: bool = False) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        if close_write:
            sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
            if b"\r\n\r\n" in answer and answer.rstrip().endswith(b"}"):
                break
    return answer.split(b"\r\n", 1)[0].decode()


def case_bodies_and_messages(tree, work, redis_url) -> list[str]:
    service = Service(tree, work / "http", redis_url, work / "http" / "log",
                      redis_timeout_seconds=1.0)  # fmt: skip
    service.load()
    service.start(workers=1)
    lines = []
    try:
        big = b'{"track": 1, "time": 0.5, "pad": "' + b"x" * 5000 + b'"}'
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(big[i : i + 1000]), big[i : i + 1000])
                          for i in range(0, len(big), 1000)) + b"0\r\n\r\n"  # fmt: skip
        chunked = raw(service.port, b"POST /next/1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
                      b"chunked\r\nConnection: close\r\n\r\n" + chunks)  # fmt: skip
        short = raw(service.port, b"POST /next/2 HTTP/1.1\r\nHost: x\r\nContent-Length: 100"
                    b'\r\n\r\n{"track": 1, "time": 0.5}', close_write=True)  # fmt: skip
        lines.append(f"chunked body of 5 KiB: {chunked}; body 25 of 100 bytes: {short}")
        redis.Redis.from_url(redis_url).set("botify:u:{7}:seen", "not a set")
        wrong = service.post("/next/7")
        lines.append(f"WRONGTYPE on a user key: {wrong.status_code} {wrong.text.strip()}")
        method = requests.get(service.url + "/next/7", timeout=10)
        lines.append(f"GET /next: {method.status_code}, Allow: {method.headers.get('Allow')}")
    finally:
        service.stop()
    return lines


def case_redis_down_and_frozen(tree, work) -> list[str]:
    server = RedisServer(port=free_port()).start()
    service = Service(tree, work / "frozen", server.url, work / "frozen" / "log",
                      redis_timeout_seconds=1.0)  # fmt: skip
    lines = []
    try:
        service.load()
        service.start(workers=1)
        service.post("/next/1")
        os.kill(server.process.pid, signal.SIGSTOP)
        started = time.monotonic()
        frozen = service.post("/next/2")
        waited = time.monotonic() - started
        os.kill(server.process.pid, signal.SIGCONT)
        lines.append(
            f"frozen Redis (redis_timeout_seconds 1.0): {frozen.status_code} after {waited:.2f} s"
        )
        server.stop()
        down = service.post("/next/3")
        lines.append(f"Redis down: {down.status_code} {down.text.strip()}")
    finally:
        service.stop()
        server.stop()
    secret = f"redis://:hunter2@127.0.0.1:{free_port()}/0"
    cli = Service(tree, work / "cli", secret, work / "cli" / "log")
    done = subprocess.run([sys.executable, "-m", "botify", "load", "--config", str(cli.config)],
                          cwd=tree, env=cli.env, capture_output=True, text=True)  # fmt: skip
    lines.append(f"botify load with a password in the URL: password shown: "
                 f"{'hunter2' in done.stderr}")  # fmt: skip
    return lines


def case_raising_recommender(work) -> list[str]:
    """What the report says for an arm whose recommender raises (this tree's report)."""
    plugin = write_broken_plugin(work)
    sys.path.insert(0, str(work))
    from botify.config import load_config
    from lab.synthetic import write_scripted_log

    config_path = work / "raising.json"
    config_path.write_text(json.dumps({
        "data": small_dataset(work / "rdata"),
        "experiments": [{"name": "AB", "arms": {
            "C": [{"recommender": "contextual", "source": "i2i"}],
            "T1": [{"recommender": plugin}]}}],
    }))  # fmt: skip
    write_scripted_log(load_config(config_path), work / "rlog", users=400, tracks=8)
    done = subprocess.run([sys.executable, "-m", "lab", "ab", str(work / "rlog"), "--experiment",
                           "AB", "--out", str(work / "rreport"), "--config", str(config_path)],
                          cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(work)})  # fmt: skip
    warnings = [line for line in done.stdout.splitlines() if line.startswith("> **Warning**")]
    said = " / ".join(warnings) or f"no warning ({done.stderr.strip()[-200:]})"
    return ["report for an arm whose plugin raises: " + said]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", type=Path, default=ROOT, help="the botify checkout to serve")
    parser.add_argument("--seconds", type=int, default=5, help="wrk duration (5)")
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # wrk's and gevent's sockets
    tree = args.tree.resolve()
    with (
        tempfile.TemporaryDirectory(prefix="botify-faults-") as tmp,
        RedisServer(port=free_port()) as server,
    ):
        work = Path(tmp)
        url = server.url
        lines = case_connections(tree, work, url, args.seconds)
        lines += case_emptied_redis(tree, work)
        lines += case_full_disk(tree, work, url)
        lines += case_bodies_and_messages(tree, work, url)
        lines += case_redis_down_and_frozen(tree, work)
        if tree == ROOT:
            lines += case_raising_recommender(work)
    print(f"botify at {tree}:")
    for line in lines:
        print(f"- {re.sub(r'127.0.0.1:[0-9]+', '127.0.0.1:PORT', line)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
