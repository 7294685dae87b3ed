"""What /next and /last do, apart from HTTP: route the user to an arm, run its chain on one
round trip to the store, keep the user's state, log the event.

This is the one place that decides: the HTTP service runs it over Redis, the in-process runs
(botify.inprocess) over memory with a simulated clock, so both make and log the same decisions.

A /next makes one round trip: the chain's reads, and after them the listen's writes (the track
played, into the history and session), which do not depend on the answer. The answer goes into
the session without waiting for Redis (`Store.recommended`). A request refused before the round
trip (bad input, a track outside the catalog) changes nothing; one that fails in it or after it
(Redis failing, or a reload that removed the track from the catalog at that instant) may have
recorded its listen. A /last records its listen into the history too (when the chain keeps one),
as the course's service does, then ends the session.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NamedTuple, Protocol

from botify.data import DataView, Listen, Snapshot, Store
from botify.events import make_event
from botify.experiments import Experiments
from botify.validation import BadInput


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


def check_track(snapshot: Snapshot, track: int) -> None:
    if track not in snapshot.catalog:
        raise BadInput(f"track: {track} is not in the catalog", status=404)


class Arrival(NamedTuple):
    """When a request arrived, on both clocks of its event: `latency` (the course's: the
    request's wall time in the service) and `work_time` (what the service worked on it)."""

    wall: float
    work: float


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
        observe: Callable[[dict], None] | None = None,
    ):
        self.store = store
        self.data = data
        self.experiments = experiments
        self.events = events
        self.clock_ms = clock_ms  # the events' timestamps
        # The clock of the events' work times: the wall clock, or under gevent the wall clock
        # less the other requests' work (botify.worktime)
        self.work_seconds = work_seconds
        # Told of each answered request's event once it is logged (the service's metrics).
        self.observe = observe

    def arrival(self) -> Arrival:
        return Arrival(time.perf_counter(), self.work_seconds())

    def next(self, user: int, track: int, listened: float, arrived: Arrival) -> dict:
        """`arrived`: `arrival()` when the request arrived (for its latency and work time)."""
        chain, arms = self.experiments.assign(user)
        check_track(self.store.known_snapshot(), track)
        listen = Listen(user, track, listened, chain.state)
        with self.data.request(chain.reads(user, track, listened), listen) as snapshot:
            check_track(snapshot, track)  # the version may have changed meanwhile
            answer = chain.answer(user, track, listened)
        self.store.recommended(user, answer.track, chain.state)
        self._log(
            make_event(
                "next",
                self.clock_ms(),
                user,
                track,
                listened,
                *self._took(arrived),
                answer.track,
                arms,
                answer.link,
                list(answer.failed),
                snapshot.version,
                answer.propensity,
            )
        )
        return {"user": user, "track": answer.track}

    def last(self, user: int, track: int, listened: float, arrived: Arrival) -> dict:
        chain, arms = self.experiments.assign(user)
        snapshot = self.data.snapshot
        check_track(snapshot, track)
        if "history" in chain.state:  # a session's last listen is a listen, as in the course
            self.store.record(user, track, listened, None, frozenset({"history"}))
        self.store.end_session(user)
        self._log(
            make_event(
                "last",
                self.clock_ms(),
                user,
                track,
                listened,
                *self._took(arrived),
                None,
                arms,
                None,
                [],
                snapshot.version,
                None,
            )
        )
        return {"user": user}

    def _log(self, event: dict) -> None:
        self.events.write(event)
        if self.observe is not None:
            self.observe(event)

    def _took(self, arrived: Arrival) -> tuple[float, float]:
        """(latency, work_time) of a request that arrived at `arrived`, now that it is done."""
        return time.perf_counter() - arrived.wall, self.work_seconds() - arrived.work
