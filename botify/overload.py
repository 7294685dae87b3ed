"""Overload named as overload: a worker with more requests than it can serve in time says so,
instead of letting them time out on Redis and calling that a Redis outage.

A worker falls behind when its requests need more CPU than it gets: each waits longer for its
turn, and under gevent a request that waited past `redis_timeout_seconds` for its turn reads
Redis's reply too late, a timeout that looks like Redis's while Redis is fine. The worker measures
how far behind it is, its lag: how late a sleep of `TICK` wakes up (a greenlet under gevent, a
thread otherwise; a sleep still running past its due time counts as it goes). Then:

- shedding: while the lag is above `overload_lag_seconds`, a new request is answered at once
  `503 {"message": "overloaded"}` with `Retry-After`, before it costs Redis or a chain anything;
- naming: a Redis failure while the lag is at least half of `redis_timeout_seconds` is answered
  the same way, not "Redis is unavailable": the worker, not Redis, was late.

Both are counted (/healthz's "overload", per worker) and said in the server log, at most a line a
second.
"""

from __future__ import annotations

import os
import threading
import time

TICK = 0.1  # seconds between the lag's measurements
RETRY_AFTER_SECONDS = 1


class LoadGauge:
    """One per process (a forked worker starts its own watcher on first use)."""

    def __init__(self, shed_lag: float, redis_timeout: float):
        self.shed_lag = shed_lag  # 0: never shed
        self.redis_timeout = redis_timeout
        self.shed = 0  # requests answered "overloaded" before any work
        self.late_on_redis = 0  # Redis failures answered "overloaded": the worker was late
        self._measured = 0.0  # the last sleep's lateness
        self._due = float("inf")  # when the running sleep should end
        self._pid: int | None = None
        self._start_lock = threading.Lock()

    def lag(self) -> float:
        """Seconds this worker is behind: the last measured lateness, or more if the running
        sleep is already late."""
        if self._pid != os.getpid():
            self._start()
        return max(self._measured, time.monotonic() - self._due)

    def should_shed(self) -> bool:
        if self.shed_lag <= 0 or self.lag() <= self.shed_lag:
            return False
        self.shed += 1
        return True

    def late_for_redis(self) -> bool:
        """Whether a Redis failure now is this worker's lateness (counted if so)."""
        if self.lag() < self.redis_timeout / 2:
            return False
        self.late_on_redis += 1
        return True

    def stats(self) -> dict:
        return {
            "lag_ms": round(self.lag() * 1000, 1),
            "shed": self.shed,
            "late_on_redis": self.late_on_redis,
        }

    def _start(self) -> None:
        with self._start_lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._measured, self._due = 0.0, float("inf")
            self.shed = self.late_on_redis = 0
            threading.Thread(target=self._watch, name="botify-load-gauge", daemon=True).start()

    def _watch(self) -> None:
        while True:
            self._due = time.monotonic() + TICK
            time.sleep(TICK)
            self._measured = max(0.0, time.monotonic() - self._due)
