"""What /next and /last do, apart from HTTP: route the user to an arm, run its chain on one
round trip to the store, keep the user's state, log the event.

This is the one place that decides: the HTTP service runs it over Redis, the in-process runs
(botify.inprocess) over memory with a simulated clock, so both make and log the same decisions.

A /next makes one round trip: the chain's reads, and after them the listen's writes (the track
played, into the history and session), which do not depend on the answer. The answer goes into
the session without waiting for Redis (`Store.recommended`). A request refused before the round
trip (bad input, a track outside the catalog) changes nothing; one that fails in it or after it
(Redis failing, or a reload that removed the track from the catalog at that instant) may have
recorded its listen.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from botify.data import DataView, Listen, Snapshot, Store
from botify.events import make_event
from botify.experiments import Experiments
from botify.validation import BadInput


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


def check_track(snapshot: Snapshot, track: int) -> None:
    if track not in snapshot.catalog:
        raise BadInput(f"track: {track} is not in the catalog", status=404)


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
        work_seconds: Callable[[], float] = time.perf_counter,
    ):
        self.store = store
        self.data = data
        self.experiments = experiments
        self.events = events
        self.clock_ms = clock_ms  # the events' timestamps
        # The clock of the events' latencies: the wall clock, or under gevent the wall clock less
        # the other requests' work (botify.worktime)
        self.work_seconds = work_seconds

    def next(self, user: int, track: int, listened: float, started: float) -> dict:
        """`started`: `work_seconds()` when the request arrived (for its latency)."""
        chain, arms = self.experiments.assign(user)
        check_track(self.store.known_snapshot(), track)
        listen = Listen(user, track, listened, chain.state)
        with self.data.request(chain.reads(user, track, listened), listen) as snapshot:
            check_track(snapshot, track)  # the version may have changed meanwhile
            answer = chain.answer(user, track, listened)
        self.store.recommended(user, answer.track, chain.state)
        latency = self.work_seconds() - started
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
        check_track(snapshot, track)
        self.store.end_session(user)
        latency = self.work_seconds() - started
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
