"""What /next and /last do, apart from HTTP: route the user to an arm, run its chain on one
round trip of reads, keep the user's state, log the event.

This is the one place that decides: the HTTP service runs it over Redis, the in-process runs
(botify.inprocess) over memory with a simulated clock, so both make and log the same decisions.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from botify.data import DataView, Store
from botify.events import make_event
from botify.experiments import Experiments
from botify.validation import BadInput


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


class EventSink(Protocol):
    def write(self, event: dict) -> None: ...


class Service:
    def __init__(
        self,
        store: Store,
        data: DataView,
        experiments: Experiments,
        events: EventSink,
        clock_ms: Callable[[], int] = wall_clock_ms,
    ):
        self.store = store
        self.data = data
        self.experiments = experiments
        self.events = events
        self.clock_ms = clock_ms  # the events' timestamps

    def next(self, user: int, track: int, listened: float, started: float) -> dict:
        """`started`: time.perf_counter() when the request arrived (for its latency)."""
        chain, arms = self.experiments.assign(user)
        with self.data.request(chain.reads(user, track, listened)) as snapshot:
            if track not in snapshot.catalog:
                raise BadInput(f"track: {track} is not in the catalog", status=404)
            answer = chain.answer(user, track, listened)
        # State changes only once the answer is known: a request that fails changes nothing.
        self.store.record(user, track, listened, answer.track, chain.state)
        latency = time.perf_counter() - started
        self.events.write(
            make_event(
                "next",
                self.clock_ms(),
                user,
                track,
                listened,
                latency,
                answer.track,
                arms,
                answer.link,
                list(answer.failed),
                snapshot.version,
                answer.propensity,
            )
        )
        return {"user": user, "track": answer.track}

    def last(self, user: int, track: int, listened: float, started: float) -> dict:
        _, arms = self.experiments.assign(user)
        snapshot = self.data.snapshot
        if track not in snapshot.catalog:
            raise BadInput(f"track: {track} is not in the catalog", status=404)
        self.store.end_session(user)
        latency = time.perf_counter() - started
        self.events.write(
            make_event(
                "last",
                self.clock_ms(),
                user,
                track,
                listened,
                latency,
                None,
                arms,
                None,
                [],
                snapshot.version,
                None,
            )
        )
        return {"user": user}
