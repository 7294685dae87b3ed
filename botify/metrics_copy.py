"""The counts a worker keeps for /healthz, copied into its metrics (botify.metrics) once a second,
before it answers a scrape, and at its graceful stop.

They are counted where they happen (the event log, the chains, the Redis client, the load gauge)
as plain numbers; a copy adds each counter's increase since the last copy and sets the gauges.
So the request path pays nothing for them, and a worker killed hard misses at most its last
second of them (the lost events themselves are in lost_events.ndjson whatever happens).
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections.abc import Iterator
from typing import Any

from botify.data import Snapshot
from botify.eventlog import EventLog
from botify.experiments import Experiments
from botify.gathering import Gathering
from botify.metrics import ServiceMetrics
from botify.overload import LoadGauge
from botify.roundtrip import OwedReplies
from botify.store import RedisStore

COPY_EVERY = 1.0  # seconds

log = logging.getLogger(__name__)


def version_number(snapshot: Snapshot | None) -> float | None:
    """botify load's versions are "<number>-<hex>"; the number orders them."""
    if snapshot is None:
        return None
    number = snapshot.version.partition("-")[0]
    return float(number) if number.isdigit() else None


class HealthCopy:
    def __init__(
        self,
        metrics: ServiceMetrics,
        events: object,
        experiments: Experiments,
        store: RedisStore,
        gauge: LoadGauge,
    ):
        self.metrics = metrics
        self.events = events
        self.experiments = experiments
        self.store = store
        self.gauge = gauge
        self._copied: dict[tuple, float] = {}  # each counter's value at the last copy
        self._lock = threading.Lock()
        self._pid: int | None = None

    def start(self) -> None:
        """Copy once a second from now on, in this process (a forked worker starts its own)."""
        if self._pid == os.getpid():
            return
        self._pid = os.getpid()
        self._copied.clear()  # the counts a fork inherits are its parent's, started afresh
        # The thread holds the copy weakly: an app dropped (tests build many) ends its thread.
        threading.Thread(
            target=_copy_every, args=(weakref.ref(self),), name="botify-metrics-copy", daemon=True
        ).start()

    def counts(self) -> Iterator[tuple[Any, tuple[str, ...], float]]:
        """(counter, labels, the count now) for every count kept for /healthz."""
        m = self.metrics
        if isinstance(self.events, EventLog):
            yield m.events_written, (), self.events.written
            yield m.events_lost, ("write_failed",), self.events.lost
            yield m.events_lost, ("rotated",), self.events.rotated_away
        routing = self.experiments.routing.name
        for arm, links in self.experiments.failures().items():
            for link, failures in links.items():
                yield m.link_failures, (routing, arm, link), failures
        yield m.redis_errors, ("unwaited_write",), OwedReplies.failures
        stats = getattr(self.store.trips, "stats", None)
        if stats is not None:  # a cluster
            yield m.redis_errors, ("node_error",), stats["node_errors"]
            yield m.redis_errors, ("failed_fast",), stats["failed_fast"]
            yield m.redis_cluster_events, ("redirected",), stats["redirected"]
            yield m.redis_cluster_events, ("slot_map_refresh",), stats["slot_map_refreshes"]
            yield m.redis_cluster_events, ("version_unconfirmed",), self.store.version_unconfirmed
        trips = self.store.round_trips
        if isinstance(trips, Gathering):
            yield m.redis_exchanges, (), trips.exchanges
            yield m.redis_round_trips, (), trips.round_trips
        yield m.overload_shed, (), self.gauge.shed
        yield m.overload_late_on_redis, (), self.gauge.late_on_redis

    def copy(self) -> None:
        with self._lock:  # the thread's copy and a scrape's, one at a time
            for counter, labels, now in self.counts():
                key = (counter, labels)
                increase = now - self._copied.get(key, 0)
                if increase > 0:
                    target = self.metrics.child(counter, *labels) if labels else counter
                    target.inc(increase)
                self._copied[key] = now
            self._set_gauges()

    def _set_gauges(self) -> None:
        m = self.metrics
        if isinstance(self.events, EventLog):
            m.events_pending.set(self.events.stats()["pending"])
        version = version_number(self.store.latest)
        if version is not None:
            m.data_version.set(version)
        m.overload_lag.set(self.gauge.lag())


def _copy_every(copy: weakref.ref[HealthCopy]) -> None:
    while True:
        time.sleep(COPY_EVERY)
        alive = copy()
        if alive is None:
            return
        try:
            alive.copy()
        except Exception:  # one failed copy must not end the copying
            log.exception("metrics: copying the health counts failed")
        del alive
