"""How many requests the remote agent keeps in flight: a limit that adapts to the service's
latency, as congestion control does (TCP Vegas, Netflix's concurrency limits).

Sessions in flight (`remote.sessions_in_flight`) say how many users may be mid-session at once;
each of their requests first takes a place under this limit. The limit starts at 1 and is
judged once per window of as many answers as it allows: the window's median latency against the
lowest median seen (the service's latency without a queue, for this client on this machine).
Below `tolerance` times that lowest, the service has room: the limit doubles while it has never
backed off, then grows by one. Above, requests are queueing in the service: the limit shrinks by
a quarter. So the service runs near its best throughput with a queue of a few requests per
worker, instead of every session's request waiting in it. The lowest median drifts up by 1% a
window, so a service that became slower for good is relearned.

A `FixedLimit` (`remote.in_flight_limit: fixed`) lets every session's request go at once, as the
agent did before: a service flooded with as many requests as sessions in flight."""

from __future__ import annotations

import asyncio
import statistics
from collections import deque
from collections.abc import Callable

DRIFT = 1.01  # the lowest median's rise per window
BACK_OFF = 0.75


class FixedLimit:
    """No limit beyond the sessions in flight."""

    def __init__(self, maximum: int) -> None:
        self.limit = float(maximum)

    async def acquire(self) -> None:
        pass

    def release(self, latency: float | None) -> None:
        pass


class AdaptiveLimit:
    def __init__(
        self, maximum: int, tolerance: float, judged: Callable[[float], None] = lambda limit: None
    ) -> None:
        """`judged` is told the limit after each window (the agent's statistics)."""
        self.maximum = maximum
        self.tolerance = tolerance
        self.judged = judged
        self.limit = 1.0
        self.in_flight = 0
        self.lowest = float("inf")  # the lowest window median, drifting up
        self.growing_fast = True  # doubling, until the first back-off
        self._window: list[float] = []
        self._waiting: deque[asyncio.Future] = deque()

    async def acquire(self) -> None:
        if self.in_flight < int(self.limit) and not self._waiting:
            self.in_flight += 1
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        try:
            await waiter  # a release took the place for this request
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.in_flight -= 1  # handed a place, but cancelled before taking it
                self._hand_off()
            raise

    def release(self, latency: float | None) -> None:
        """A request is done; `latency` is its time to the answer, None when it failed."""
        self.in_flight -= 1
        if latency is not None:
            self._window.append(latency)
            if len(self._window) >= max(int(self.limit), 4):
                self._judge(statistics.median(self._window))
                self._window.clear()
        self._hand_off()

    def _hand_off(self) -> None:
        """Places under the limit go to the requests waiting, first come first served."""
        while self._waiting and self.in_flight < int(self.limit):
            waiter = self._waiting.popleft()
            if not waiter.done():  # not cancelled
                self.in_flight += 1
                waiter.set_result(None)

    def _judge(self, median: float) -> None:
        self.lowest = min(self.lowest * DRIFT, median)
        if median <= self.lowest * self.tolerance:
            grown = self.limit * 2 if self.growing_fast else self.limit + 1
            self.limit = min(float(self.maximum), grown)
        else:
            self.growing_fast = False
            self.limit = max(1.0, self.limit * BACK_OFF)
        self.judged(self.limit)
