"""The docker-compose topology as plain processes: nginx in front of two `botify serve` replicas on
one Redis, a dataset loaded once, traffic through nginx, then the replicas' logs analysed together.

    .venv/bin/python bench/deploy_topology.py [--users 300] [--sessions-per-user 2] [--replicas 2]

What runs, as docker-compose.yml runs it:
- Redis (botify.redis_server.RedisServer on a free port) with a password, as the redis service;
- `botify load` once, with BOTIFY_REDIS_URL carrying the password, as the one-shot loader;
- each replica through deploy/entrypoint.sh (the image's entry point) with its own HOSTNAME, so
  that it logs to <log folder>/<hostname>/ as a container does on the shared log volume;
- nginx from Debian's packages (`apt-get install -y nginx-light`) with deploy/nginx.conf, its
  upstream's `server recommender:5000 resolve` line replaced by the replicas' addresses.

Traffic follows the course's protocol: sessions of POST /next/<user> {"track", "time"} that
follow the recommendations, each closed by POST /last/<user>. Checks: every request answered 200;
every answered request logged exactly once; requests balanced across the replicas (by their log
line counts); each user in one arm across replicas; `botify ab <log folder> --experiment NAME`
reads both replicas' folders together and finds every session that was driven. Prints what it
measured and exits 1 on a failed check; every process it started is stopped, also on failure or
Ctrl-C. Generated files go to a temporary folder, kept (and named) on failure or with --keep.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import redis
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.service_data import make_dataset  # noqa: E402
from botify.redis_server import RedisServer, free_port  # noqa: E402
from lab.processes import Process, Processes, ProcessFailed  # noqa: E402

EXPERIMENT = "DEPLOY_AB"
AA_EXPERIMENT = "DEPLOY_AA"
NGINX_CONF = ROOT / "deploy" / "nginx.conf"
ENTRYPOINT = ROOT / "deploy" / "entrypoint.sh"
BALANCE_TOLERANCE = 0.10  # each replica's share of the events within 1/N +- this


class CheckFailed(Exception):
    pass


# -- setup ---------------------------------------------------------------------------------------


def write_config(directory: Path, data: Path) -> Path:
    """A config as the container reads it: data paths relative to the config's folder, no Redis
    URL (the environment gives it), two experiments logged on every event."""
    config = {
        "swap_grace_seconds": 0,
        "data": {
            "catalog": "data/tracks.json",
            "top_tracks": "data/top_tracks.json",
            "item_recommendations": {"i2i": "data/i2i.json"},
            "user_recommendations": {},
        },
        "routing_experiment": EXPERIMENT,
        "experiments": [
            {
                "name": EXPERIMENT,
                "arms": {
                    "C": [{"recommender": "top_pop", "top_n": 100}],
                    "T1": [{"recommender": "contextual", "source": "i2i"}],
                },
            },
            {"name": AA_EXPERIMENT, "arms": 2},
        ],
    }
    assert data == directory / "data"
    path = directory / "config.json"
    path.write_text(json.dumps(config, indent=1))
    return path


def nginx_config(listen_port: int, replica_ports: list[int], work: Path) -> str:
    """deploy/nginx.conf with the Docker-only parts replaced by this machine's addresses."""
    text = NGINX_CONF.read_text()
    replacements = [
        (r"^\s*resolver 127\.0\.0\.11[^;]*;\n", ""),
        (
            r"^(\s*)server recommender:5000 resolve;",
            lambda m: "\n".join(f"{m.group(1)}server 127.0.0.1:{port};" for port in replica_ports),
        ),
        (r"^(\s*)listen 80;", lambda m: f"{m.group(1)}listen 127.0.0.1:{listen_port};"),
        (
            r"^http \{\n",
            lambda m: (
                m.group(0)
                + "".join(
                    f"    {directive} {work / name};\n"
                    for directive, name in temp_path_directives()
                )
            ),
        ),
    ]
    for pattern, replacement in replacements:
        text, count = re.subn(pattern, replacement, text, count=1, flags=re.MULTILINE)
        if count != 1:
            raise CheckFailed(f"{NGINX_CONF}: expected one line matching {pattern!r}")
    return text


def temp_path_directives() -> list[tuple[str, str]]:
    """nginx's temporary folders, moved out of /var/lib/nginx (for the modules it was built
    with), so that nginx runs without root."""
    built = subprocess.run(["nginx", "-V"], capture_output=True, text=True).stderr
    directives = [("client_body_temp_path", "client_body"), ("proxy_temp_path", "proxy")]
    for module in ("fastcgi", "uwsgi", "scgi"):
        if f"--without-http_{module}_module" not in built:
            directives.append((f"{module}_temp_path", module))
    return directives


def find_nginx() -> str:
    nginx = shutil.which("nginx") or (
        "/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None
    )
    if nginx is None:
        raise CheckFailed("no nginx: install Debian's package (apt-get install -y nginx-light)")
    return nginx


# -- traffic -------------------------------------------------------------------------------------


class Traffic:
    """Sessions of /next following the recommendations, closed by /last: the course's protocol."""

    def __init__(self, base_url: str, n_tracks: int, seed: int) -> None:
        self.base_url = base_url
        self.n_tracks = n_tracks
        self.seed = seed
        self.local = threading.local()
        self.lock = threading.Lock()
        self.answered: Counter = Counter()  # (endpoint, status) -> count
        self.failures: list[str] = []
        self.sessions = 0
        self.stopping = threading.Event()

    def session_client(self) -> requests.Session:
        client = getattr(self.local, "client", None)
        if client is None:
            client = self.local.client = requests.Session()
        return client

    def post(self, endpoint: str, user: int, track: int, listened: float) -> dict | None:
        try:
            response = self.session_client().post(
                f"{self.base_url}/{endpoint}/{user}",
                json={"track": track, "time": listened},
                timeout=10,
            )
        except requests.RequestException as error:
            with self.lock:
                self.answered[endpoint, "error"] += 1
                self.failures.append(f"{endpoint}/{user}: {error}")
            return None
        with self.lock:
            self.answered[endpoint, response.status_code] += 1
            if response.status_code != 200:
                self.failures.append(f"{endpoint}/{user}: {response.status_code} {response.text}")
                return None
        return response.json()

    def user(self, user: int, sessions: int) -> None:
        rng = random.Random(self.seed * 1_000_003 + user)
        for _ in range(sessions):
            if self.stopping.is_set():
                return
            track = rng.randrange(self.n_tracks)
            for _ in range(rng.randint(3, 15)):
                answer = self.post("next", user, track, round(rng.random(), 3))
                if answer is None:
                    return
                track = answer["track"]
            if self.post("last", user, track, round(rng.random(), 3)) is None:
                return
            with self.lock:
                self.sessions += 1

    def run(self, users: int, sessions_per_user: int, threads: int) -> float:
        started = time.perf_counter()
        pool = ThreadPoolExecutor(threads)
        try:
            for future in [pool.submit(self.user, u, sessions_per_user) for u in range(users)]:
                future.result()
        finally:
            self.stopping.set()  # on Ctrl-C: users in flight stop after their current request
            pool.shutdown(wait=True, cancel_futures=True)
        return time.perf_counter() - started


# -- checks --------------------------------------------------------------------------------------


def read_replica_logs(log_dir: Path, replicas: list[str]) -> dict[str, list[dict]]:
    events: dict[str, list[dict]] = {}
    for name in replicas:
        folder = log_dir / name
        files = sorted(folder.glob("events.jsonl*")) if folder.is_dir() else []
        lines: list[dict] = []
        for file in files:
            if file.name.endswith(".lock"):
                continue
            with open(file) as handle:
                for number, line in enumerate(handle, 1):
                    try:
                        lines.append(json.loads(line))
                    except ValueError as error:
                        raise CheckFailed(f"{file}:{number}: not a JSON line: {error}") from None
        events[name] = lines
    return events


def check(condition: bool, what: str, failures: list[str]) -> None:
    print(f"  [{'ok' if condition else 'FAILED'}] {what}")
    if not condition:
        failures.append(what)


def run_ab(log_dir: Path, out: Path) -> tuple[int, str, str]:
    done = subprocess.run(
        [sys.executable, "-m", "lab", "ab", str(log_dir), "--experiment", EXPERIMENT]
        + ["--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return done.returncode, done.stdout, done.stderr


def report_arm_totals(out: Path) -> dict[str, int] | None:
    """Sessions and events summed over the report's table of arms (None if it has none)."""
    report = out / "report.md"
    if not report.exists():
        return None
    tables: list[list[list[str]]] = [[]]
    for line in report.read_text().splitlines():
        if line.startswith("|"):
            tables[-1].append([cell.strip().lower() for cell in line.strip().strip("|").split("|")])
        elif tables[-1]:
            tables.append([])
    for table in tables:
        if len(table) < 3 or not {"arm", "sessions", "events"} <= set(table[0]):
            continue
        totals = {"sessions": 0, "events": 0}
        for row in table[2:]:
            for key in totals:
                totals[key] += int(row[table[0].index(key)].replace(",", ""))
        return totals
    return None


# -- main ----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", type=int, default=2, help="botify serve processes (2)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per replica (2)")
    parser.add_argument("--users", type=int, default=300, help="simulated users (300)")
    parser.add_argument("--sessions-per-user", type=int, default=2, help="sessions each (2)")
    parser.add_argument("--threads", type=int, default=16, help="concurrent clients (16)")
    parser.add_argument("--tracks", type=int, default=5000, help="catalog size (5000)")
    parser.add_argument("--seed", type=int, default=0, help="dataset and traffic seed (0)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument(
        "--reload-at",
        type=float,
        default=1.0,
        help="seconds into the traffic when every replica gets SIGHUP, the rolling config "
        "reload that docs/deploy.md documents (`docker compose kill -s HUP recommender`); 0: none",
    )
    args = parser.parse_args(argv)
    if args.replicas < 2:
        parser.error("--replicas must be at least 2: the point is balancing")

    # SIGTERM and SIGHUP end the run like Ctrl-C does: through the finally below.
    def interrupted(signum, frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)

    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with it ignored
    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGHUP, interrupted)

    work = Path(tempfile.mkdtemp(prefix="botify-deploy-"))
    processes = Processes()
    redis_server: RedisServer | None = None
    failures: list[str] = []
    ok = False
    try:
        nginx = find_nginx()
        data = make_dataset(
            work / "data",
            tracks=args.tracks,
            artists=max(1, args.tracks // 5),
            users=args.users,
            neighbours=20,
            seed=args.seed,
        )
        config = write_config(work, data)
        log_dir = work / "log"

        # Redis with a password, as the compose file's redis service.
        password = secrets.token_hex(16)
        redis_server = RedisServer(port=free_port()).start()
        redis.Redis(host=redis_server.host, port=redis_server.port).config_set(
            "requirepass", password
        )
        redis_url = f"redis://:{password}@{redis_server.host}:{redis_server.port}/0"
        env = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "BOTIFY_REDIS_URL": redis_url,
            "BOTIFY_LOG_DIR": str(log_dir),
        }
        print(f"botify deploy topology in {work}")
        print(f"  redis      {redis_server.host}:{redis_server.port} (password required)")

        # The one-shot loader, once.
        started = time.perf_counter()
        loaded = subprocess.run(
            [sys.executable, "-m", "botify", "load", "--config", str(config)],
            env=env,
            capture_output=True,
            text=True,
        )
        if loaded.returncode != 0:
            raise CheckFailed(f"botify load failed: {loaded.stderr or loaded.stdout}")
        print(f"  loader     {loaded.stdout.strip()} ({time.perf_counter() - started:.1f} s)")

        # The replicas, through the image's entry point, each with its own hostname.
        replicas = [f"replica-{i}" for i in range(1, args.replicas + 1)]
        ports = [free_port() for _ in replicas]
        replica_processes = []
        for name, port in zip(replicas, ports, strict=True):
            replica = Process(
                [
                    "sh",
                    str(ENTRYPOINT),
                    "--config",
                    str(config),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--workers",
                    str(args.workers),
                ],
                work / f"{name}.out",
                env={**env, "HOSTNAME": name},
                cwd=work,
            )
            replica_processes.append(processes.add(replica))
        for name, process, port in zip(replicas, replica_processes, ports, strict=True):
            seconds = process.wait_for(f"http://127.0.0.1:{port}/healthz")
            print(
                f"  {name:<10} 127.0.0.1:{port}, {args.workers} workers, healthy in {seconds:.1f} s"
            )

        # nginx with deploy/nginx.conf.
        nginx_dir = work / "nginx"
        nginx_dir.mkdir()
        nginx_port = free_port()
        (nginx_dir / "nginx.conf").write_text(nginx_config(nginx_port, ports, nginx_dir))
        command = [nginx, "-p", str(nginx_dir), "-c", str(nginx_dir / "nginx.conf"), "-e", "stderr"]
        command += ["-g", f"daemon off; pid {nginx_dir / 'nginx.pid'};"]
        tested = subprocess.run([*command, "-t"], capture_output=True, text=True)
        if tested.returncode != 0:
            raise CheckFailed(f"nginx -t rejects the config:\n{tested.stderr}")
        # nginx stops gracefully on SIGQUIT (SIGTERM is its fast shutdown).
        process = processes.add(Process(command, work / "nginx.out", stop_signal=signal.SIGQUIT))
        base_url = f"http://127.0.0.1:{nginx_port}"
        seconds = process.wait_for(f"{base_url}/healthz")
        print(f"  nginx      {base_url} -> {len(ports)} replicas, healthy in {seconds:.1f} s")

        # Traffic through nginx.
        traffic = Traffic(base_url, args.tracks, args.seed)
        reload = None
        if args.reload_at > 0:
            # What `docker compose kill -s HUP recommender` does: each replica's gunicorn starts
            # new workers on the (re-read) config and retires the old ones, under traffic.
            def hup_every_replica() -> None:
                for replica in replica_processes:
                    replica.signal(signal.SIGHUP)
                print(f"  SIGHUP to every replica at {args.reload_at:.1f} s of traffic")

            reload = threading.Timer(args.reload_at, hup_every_replica)
            reload.start()
        seconds = traffic.run(args.users, args.sessions_per_user, args.threads)
        if reload is not None:
            reload.cancel()
        sent = sum(traffic.answered.values())
        answered = sum(n for (_, status), n in traffic.answered.items() if status == 200)
        by_endpoint = Counter()
        for (endpoint, status), n in traffic.answered.items():
            if status == 200:
                by_endpoint[endpoint] += n
        print(
            f"\ntraffic: {sent} requests ({by_endpoint['next']} /next, {by_endpoint['last']} "
            f"/last) in {traffic.sessions} sessions of {args.users} users through nginx, "
            f"{args.threads} clients: {seconds:.1f} s, {sent / seconds:.0f} requests/s"
        )

        # Stop the replicas gracefully: each worker writes every queued event before exiting.
        processes.stop_all()

        events = read_replica_logs(log_dir, replicas)
        logged = {name: len(lines) for name, lines in events.items()}
        total = sum(logged.values())
        print("\nlog lines per replica:")
        for name in replicas:
            share = logged[name] / total if total else 0.0
            print(f"  {name:<10} {logged[name]:>6} events  {share:6.1%}  ({log_dir / name})")
        others = sorted(p.name for p in log_dir.iterdir() if p.name not in replicas)
        users_on: dict[int, set[str]] = defaultdict(set)
        arms_of: dict[int, set[str]] = defaultdict(set)
        for name, lines in events.items():
            for event in lines:
                users_on[event["user"]].add(name)
                arms_of[event["user"]].add(json.dumps(event.get("experiments"), sort_keys=True))
        spanning = sum(1 for names in users_on.values() if len(names) == len(replicas))

        print("\nchecks:")
        check(not traffic.failures, f"every request answered 200 ({answered}/{sent})", failures)
        for failure in traffic.failures[:5]:
            print(f"      {failure}")
        check(
            total == answered,
            f"every answered request logged exactly once ({total} lines, {answered} answers)",
            failures,
        )
        check(not others, f"no log folder besides the replicas' ({others or 'none'})", failures)
        fair = 1 / len(replicas)
        shares = {name: (logged[name] / total if total else 0.0) for name in replicas}
        check(
            all(abs(share - fair) <= BALANCE_TOLERANCE for share in shares.values()),
            "balanced: each replica's share within "
            f"{fair:.0%} +- {BALANCE_TOLERANCE:.0%} "
            f"({', '.join(f'{s:.1%}' for s in shares.values())})",
            failures,
        )
        check(
            all(len(arms) == 1 for arms in arms_of.values()),
            f"each user in one arm on every replica ({len(arms_of)} users)",
            failures,
        )
        print(
            f"  (sessions span replicas: {spanning} of {len(users_on)} users have events on "
            "every replica, so a session is only whole in the replicas' logs together)"
        )

        # The A/B report on the whole log folder: every replica's subfolder together.
        out = work / "ab"
        status, stdout, stderr = run_ab(log_dir, out)
        check(status == 0, f"botify ab {log_dir} --experiment {EXPERIMENT} exits 0", failures)
        if status != 0:
            print(stderr.strip())
        else:
            totals = report_arm_totals(out)
            check(totals is not None, "the report has its table of arms", failures)
            if totals is not None:
                check(
                    totals["events"] == total,
                    f"the report reads every replica's events ({totals['events']} of {total})",
                    failures,
                )
                check(
                    totals["sessions"] == traffic.sessions,
                    f"the report finds every session driven, whole ({totals['sessions']} of "
                    f"{traffic.sessions})",
                    failures,
                )
            print("\nbotify ab on both replicas' logs together:\n")
            print("\n".join("    " + line for line in stdout.splitlines()[:40]))
        ok = not failures
    except (CheckFailed, ProcessFailed) as failure:
        print(f"\nFAILED: {failure}", file=sys.stderr)
    except KeyboardInterrupt as interruption:
        print(f"\ninterrupted ({str(interruption) or 'Ctrl-C'}); stopping", file=sys.stderr)
    finally:
        processes.stop_all()
        if redis_server is not None:
            redis_server.stop()
        if ok and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"\nfiles kept in {work}", file=sys.stderr)
    if failures:
        print(f"\nFAILED: {len(failures)} check(s): {'; '.join(failures)}", file=sys.stderr)
    if ok:
        print("\nall checks passed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
