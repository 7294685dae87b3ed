"""The data in Redis: key names, reading a request's data in one round trip, per-user state.

One logical database, every key under the configured namespace, values as packed integers
(little-endian int64) or JSON, never serialised Python objects. A dataset lives under a version
number; the key `<ns>:version` names the live one, so a reload is one atomic SET (see
botify.loader). A user's keys share a hash tag, so on Redis Cluster a user's state sits on one
node.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import overload

import numpy as np
import redis
import ujson
from redis.backoff import NoBackoff
from redis.retry import Retry

from botify.cluster import ClusterRoundTrips, connect_cluster
from botify.config import Config, is_cluster_url, redis_url
from botify.data import EMPTY_SESSION, Listen, NoData, Read, Session, Snapshot
from botify.dataset import ID_DTYPE, Catalog, Lists
from botify.gathering import Gathering, gathering
from botify.roundtrip import Command, OwedReplies, RoundTrips, owing_replies

# Connections a client may hold beyond its requests in flight (health checks, the loader).
POOL_SPARE = 8
# A new data version's list sources (tens of MB) are read in pieces of this size, and the worker
# serves its other requests between pieces: read whole, they held its loop for some 90 ms.
CHUNK_BYTES = 1 << 20


def let_others_run() -> None:
    """Yield to the worker's other requests (under gevent, time.sleep is gevent's: a switch)."""
    time.sleep(0)


# A plain client for one Redis, a cluster client for a Redis Cluster: the store's commands are
# the ones both have.
Client = redis.Redis | redis.RedisCluster


def connect(url: str, timeout: float = 0.5, in_flight: int = 100) -> Client:
    """A client that fails fast: a frozen Redis costs one `timeout`, never a hang or two timeouts
    (only a dropped connection is retried, once, on a new one: a restarted Redis answers the
    retry). Its pool has a connection for each of `in_flight` requests at once, so a busy
    worker never runs out ("Too many connections"). Its connections can also send writes
    without waiting for their replies (botify.roundtrip). A redis+cluster:// URL gives a
    cluster client (botify.cluster) with the same properties on each node."""
    if is_cluster_url(url):
        return connect_cluster(url, timeout, in_flight + POOL_SPARE)
    client = redis.Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,)),
        health_check_interval=0,
        max_connections=in_flight + POOL_SPARE,
    )
    return owing_replies(client)


def text(raw: object) -> str:
    """A Redis string reply as text (the client returns bytes; its type hints allow more)."""
    if isinstance(raw, bytes):
        return raw.decode()
    if isinstance(raw, str):
        return raw
    raise TypeError(f"expected a Redis string reply, got {raw!r}")


def pack(values: np.ndarray) -> bytes:
    return np.asarray(values, dtype=ID_DTYPE).tobytes()


@overload
def unpack(raw: bytes) -> np.ndarray: ...
@overload
def unpack(raw: None) -> None: ...
@overload
def unpack(raw: bytes | None) -> np.ndarray | None: ...
def unpack(raw: bytes | None) -> np.ndarray | None:
    return None if raw is None else np.frombuffer(raw, dtype=ID_DTYPE)


class Keys:
    """Every Redis key botify uses, under one namespace."""

    def __init__(self, namespace: str):
        self.ns = namespace
        self.version = f"{namespace}:version"
        self.version_counter = f"{namespace}:version_counter"

    def data(self, version: str, name: str) -> str:
        return f"{self.ns}:v:{version}:{name}"

    def version_pattern(self, version: str) -> str:
        return f"{self.ns}:v:{version}:*"

    def items(self, version: str, source: str, track: int) -> str:
        return f"{self.ns}:v:{version}:items:{source}:{track}"

    def whole(self, version: str, kind: str, source: str, part: str) -> str:
        """A list source written whole: its keys, offsets or values, packed."""
        return f"{self.ns}:v:{version}:whole:{kind}:{source}:{part}"

    def users(self, version: str, source: str, user: int) -> str:
        return f"{self.ns}:v:{version}:users:{source}:{user}"

    def history(self, user: int) -> str:
        return f"{self.ns}:u:{{{user}}}:history"

    def seen(self, user: int) -> str:
        return f"{self.ns}:u:{{{user}}}:seen"

    def first_track(self, user: int) -> str:
        return f"{self.ns}:u:{{{user}}}:first"


class RedisStore:
    """The service's `Store`: data versions and user state in Redis."""

    @classmethod
    def for_config(cls, config: Config, in_flight: int) -> RedisStore:
        """On the config's Redis, with a connection for each of `in_flight` requests."""
        client = connect(
            redis_url(config), timeout=config["redis_timeout_seconds"], in_flight=in_flight
        )
        return cls(
            client,
            namespace=config["namespace"],
            history_length=config["history_length"],
            history_ttl=config["history_ttl_seconds"],
            session_ttl=config["session_ttl_seconds"],
            version_check_seconds=config["version_check_seconds"],
        )

    def __init__(
        self,
        client: Client,
        namespace: str = "botify",
        history_length: int = 20,
        history_ttl: int = 7 * 24 * 3600,
        session_ttl: int = 3600,
        version_check_seconds: float = 0.1,
    ):
        self.client = client
        # A request's round trips: on a cluster, one per node of their slots.
        self.trips: RoundTrips | ClusterRoundTrips = (
            ClusterRoundTrips(client)
            if isinstance(client, redis.RedisCluster)
            else RoundTrips(client)
        )
        # Requests' round trips, gathered per turn of the loop under gevent (botify.gathering).
        self.round_trips = gathering(self.trips)
        self.version_unconfirmed = 0  # reads served while the version key's node was down
        self.keys = Keys(namespace)
        self.history_length = history_length
        self.history_ttl = history_ttl
        self.session_ttl = session_ttl
        self._snapshots: dict[str, Snapshot] = {}  # the live version and the one before it
        self._latest: Snapshot | None = None
        self._checked_at = float("-inf")  # when the live version was last read
        self.version_check_seconds = version_check_seconds
        self._lock = threading.Lock()

    # -- data versions -------------------------------------------------------------------

    def live_version(self) -> str | None:
        raw = self.client.get(self.keys.version)
        return None if raw is None else text(raw)

    def _snapshot(self, version: str) -> Snapshot:
        snapshot = self._snapshots.get(version)
        if snapshot is not None:
            return snapshot
        with self._lock:
            if version not in self._snapshots:
                self._snapshots[version] = self._load_snapshot(version)
                # Keep only the newest two: a request that began on the old one may still read.
                while len(self._snapshots) > 2:
                    del self._snapshots[next(iter(self._snapshots))]
            return self._snapshots[version]

    def _load_snapshot(self, version: str) -> Snapshot:
        names = ("meta", "catalog:ids", "catalog:artists", "top")
        pipe = self.client.pipeline(transaction=False)
        for name in names:
            pipe.get(self.keys.data(version, name))
        meta, ids, artists, top = pipe.execute()
        if meta is None or ids is None or artists is None:
            raise NoData(f"data version {version} is incomplete in Redis")
        let_others_run()
        meta = ujson.loads(meta)
        catalog = Catalog(unpack(ids), np.frombuffer(artists, dtype="<i4"))
        catalog.warm()  # build the lookups now, not inside the first requests
        let_others_run()
        return Snapshot(
            version,
            catalog,
            unpack(top) if top is not None else np.zeros(0, ID_DTYPE),
            self._load_whole_sources(version, meta.get("sources", {})),
        )

    def _load_whole_sources(self, version: str, layout: dict) -> dict[tuple[str, str], Lists]:
        """The list sources written whole, into memory: their reads cost no round trip."""
        wanted = [
            (kind, source)
            for kind, sources in layout.items()
            for source, how in sources.items()
            if how == "whole"
        ]
        parts = [
            self.keys.whole(version, kind, source, part)
            for kind, source in wanted
            for part in ("keys", "offsets", "values")
        ]
        replies = iter(self._read_in_pieces(parts))
        lists = {}
        for kind, source in wanted:
            keys, offsets, values = next(replies), next(replies), next(replies)
            if keys is None or offsets is None or values is None:
                raise NoData(f"data version {version} is incomplete in Redis")
            lists[(kind, source)] = Lists(unpack(keys), unpack(offsets), unpack(values))
            lists[(kind, source)].get(-1)  # build the index now
            let_others_run()
        return lists

    def _read_in_pieces(self, keys: list[str]) -> list[bytes | None]:
        """The values of `keys` (None for a missing one), read CHUNK_BYTES at a time with the
        worker's other requests served between pieces. A version's keys never change once
        written; one deleted meanwhile (past its grace) reads short and counts as missing."""
        pipe = self.client.pipeline(transaction=False)
        for key in keys:
            pipe.exists(key)
            pipe.strlen(key)
        sizes = pipe.execute()
        values: list[bytes | None] = []
        for key, exists, size in zip(keys, sizes[::2], sizes[1::2], strict=True):
            if not exists:
                values.append(None)
                continue
            value = bytearray()
            for start in range(0, size, CHUNK_BYTES):
                piece = self.client.getrange(key, start, start + CHUNK_BYTES - 1)
                value += piece if isinstance(piece, bytes) else b""  # bytes: no decoding set
                let_others_run()
            values.append(bytes(value) if len(value) == size else None)
        return values

    @property
    def latest(self) -> Snapshot | None:
        """The version last seen live, if any."""
        return self._latest

    def known_snapshot(self) -> Snapshot:
        return self._latest or self.current_snapshot()

    def current_snapshot(self) -> Snapshot:
        version = self.live_version()
        if version is None:
            raise NoData("no data version is loaded: run 'botify load'")
        snapshot = self._snapshot(version)
        self._latest = snapshot
        self._checked_at = time.monotonic()
        return snapshot

    # -- reads ---------------------------------------------------------------------------

    def _queue(self, commands: list[Command], version: str, key: Read) -> None:
        kind = key.kind
        if kind == "items":
            commands.append(("GET", self.keys.items(version, key.source, key.id)))
        elif kind == "users":
            commands.append(("GET", self.keys.users(version, key.source, key.id)))
        elif kind == "history":
            commands.append(("LRANGE", self.keys.history(key.id), 0, -1))
        elif kind == "session":
            commands.append(("SMEMBERS", self.keys.seen(key.id)))
            commands.append(("GET", self.keys.first_track(key.id)))
        else:
            raise ValueError(f"unknown read {key!r}")

    @staticmethod
    def _decode(keys: Sequence[Read], reply_list: list) -> list:
        values: list = []
        replies = iter(reply_list)
        for key in keys:
            kind = key.kind
            if kind in ("items", "users"):
                values.append(unpack(next(replies)))
            elif kind == "history":
                listens = []
                for entry in next(replies):
                    track, _, time = entry.partition(b":")
                    listens.append((int(track), float(time)))
                values.append(listens)
            else:
                seen, first = next(replies), next(replies)
                if not seen and first is None:
                    values.append(EMPTY_SESSION)
                else:
                    values.append(
                        Session(frozenset(map(int, seen)), None if first is None else int(first))
                    )
        return values

    def _split(self, snapshot: Snapshot, keys: Sequence[Read]) -> tuple[dict[Read, object], list]:
        """Reads answered from memory (whole sources), and those left for Redis."""
        local: dict[Read, object] = {}
        remote = []
        for key in keys:
            lists = snapshot.lists.get(key.lists) if key.source else None
            if lists is not None:
                local[key] = lists.get(key.id)
            else:
                remote.append(key)
        return local, remote

    def _merge(self, keys, local, remote, replies) -> list:
        fetched = dict(zip(remote, self._decode(remote, replies), strict=True))
        return [local[key] if key in local else fetched[key] for key in keys]

    def read(
        self, keys: Sequence[Read], version: str | None = None, listen: Listen | None = None
    ) -> tuple[Snapshot, list]:
        if version is not None:
            snapshot = self._snapshot(version)
            local, remote = self._split(snapshot, keys)
            commands: list[Command] = []
            for key in remote:
                self._queue(commands, version, key)
            replies = self.round_trips.round_trip(commands) if commands else []
            return snapshot, self._merge(keys, local, remote, replies)
        snapshot = self.known_snapshot()
        local, remote = self._split(snapshot, keys)
        writes = listen is not None and bool(listen.state)
        if not remote and not writes:
            if time.monotonic() - self._checked_at < self.version_check_seconds:
                return snapshot, self._merge(keys, local, remote, [])
        # The live version rides along with the reads, and the listen's writes after them; in
        # the rare case the version changed (a reload), read again from the new one. The loader
        # keeps the old version a grace period, so what was read from it, or is served from
        # memory a moment after the switch, stays valid.
        commands = [("GET", self.keys.version)]
        for key in remote:
            self._queue(commands, snapshot.version, key)
        if writes:
            assert listen is not None
            commands += self._listen_writes(listen)
        # The version's read may fail alone, on a cluster whose node holding it is down.
        replies = self.round_trips.round_trip(commands, tolerate=1)
        live = replies[0]
        if isinstance(live, redis.RedisError):
            # Only on a cluster: the version key's node is unavailable, the others answered. No load
            # can switch versions while it is down (the switch is a write to that key), so the
            # known version is still the live one.
            self.version_unconfirmed += 1
            return snapshot, self._merge(keys, local, remote, replies[1:])
        if live is None:
            self._latest = None
            raise NoData("no data version is loaded: run 'botify load'")
        self._checked_at = time.monotonic()
        if live.decode() != snapshot.version:
            self._latest = self._snapshot(live.decode())
            return self.read(keys, version=self._latest.version)
        return snapshot, self._merge(keys, local, remote, replies[1:])

    @property
    def on_cluster(self) -> bool:
        return isinstance(self.trips, ClusterRoundTrips)

    def topology(self) -> dict:
        """What /healthz shows of the Redis side: on a cluster, whether it serves (its masters,
        those that do not answer or say the cluster is down, the slots not served, and a
        `message` when it does not: ClusterRoundTrips.serving), and the counts of what went
        wrong on the request path."""
        gathered = self.round_trips.counts() if isinstance(self.round_trips, Gathering) else {}
        if not isinstance(self.trips, ClusterRoundTrips):  # (not on_cluster: mypy narrows this)
            return {
                "topology": "single",
                "unwaited_write_failures": OwedReplies.failures,
                **gathered,
            }
        return {
            "topology": "cluster",
            **self.trips.serving(),
            **self.trips.stats,
            "version_unconfirmed": self.version_unconfirmed,
            "unwaited_write_failures": OwedReplies.failures,
            **gathered,
        }

    # -- per-user state ------------------------------------------------------------------

    def _listen_writes(self, listen: Listen) -> list[Command]:
        user, track, time, state = listen
        commands: list[Command] = []
        if "history" in state:
            key = self.keys.history(user)
            commands.append(("LPUSH", key, f"{track}:{time!r}"))
            commands.append(("LTRIM", key, 0, self.history_length - 1))
            commands.append(("EXPIRE", key, self.history_ttl))
        if "session" in state:
            seen = self.keys.seen(user)
            commands.append(("SADD", seen, track))
            commands.append(("EXPIRE", seen, self.session_ttl))
            first = self.keys.first_track(user)
            commands.append(("SET", first, track, "NX", "EX", self.session_ttl))
        return commands

    def recommended(self, user: int, track: int, state: frozenset[str]) -> None:
        # The listen's writes, just before, made the session's key and gave it its time to live.
        if "session" in state:
            self.trips.send_unwaited([("SADD", self.keys.seen(user), track)])

    def record(
        self, user: int, track: int, time: float, recommendation: int | None, state: frozenset[str]
    ) -> None:
        commands = self._listen_writes(Listen(user, track, time, state))
        if "session" in state and recommendation is not None:
            commands.append(("SADD", self.keys.seen(user), recommendation))
        if commands:
            self.trips.round_trip(commands)

    def end_session(self, user: int) -> None:
        self.client.delete(self.keys.seen(user), self.keys.first_track(user))

    # -- catalog records -----------------------------------------------------------------

    def track_record(self, track: int) -> dict | None:
        version = self.current_snapshot().version
        raw = self.client.hget(self.keys.data(version, "tracks"), track)
        return None if raw is None else ujson.loads(raw)

    def track_records(self, snapshot: Snapshot) -> list[str]:
        """Every track's record (JSON) of the snapshot's version, in catalog order, in one round
        trip: for what needs a field of every track (exploration among genre-mates)."""
        raw = self.client.hgetall(self.keys.data(snapshot.version, "tracks"))
        return [text(raw[b"%d" % track]) for track in snapshot.catalog.ids.tolist()]
