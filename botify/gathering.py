"""Past one round trip per request: under gevent, the round trips of every request that reaches
Redis in the same turn of the worker's loop go out as one exchange (what Redis clients call
auto-pipelining).

A request's `round_trip` puts its commands in the current gathering and waits; the first one of
a gathering starts a greenlet that runs once every request ready in this turn has run up to its
own round trip, sends all their commands at once (on a cluster: once per node) and hands each
request its own replies. The guarantees are a lone round trip's:
- each request's commands reach Redis together and in order, on one connection (a cluster: one
  per node), after those of the gatherings before (a user's next request comes after its answer);
- an error reply fails only the request whose command it answers (on a cluster a request's first
  `tolerate` commands may fail alone for an unavailable node, as in ClusterRoundTrips);
- a dropped connection is retried once on a fresh one, a timeout is not, and either failure
  fails every request of the gathering, as it would have failed each of them alone.
Writes sent without waiting (`send_unwaited`) go out at once, as before: nobody waits for them.
Without gevent (threads, the in-process day) requests make their own round trips.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import redis

from botify.roundtrip import Command, failure_of


class Exchanges(Protocol):
    """RoundTrips or ClusterRoundTrips: replies with error replies in place, and unwaited sends."""

    def replies(self, commands: Sequence[Command]) -> list: ...

    def send_unwaited(self, commands: Sequence[Command]) -> None: ...


class Gathering:
    def __init__(self, trips: Exchanges):
        import gevent
        from gevent.event import AsyncResult

        self.trips = trips
        self._spawn = gevent.spawn
        self._result = AsyncResult
        self._waiting: list[tuple[Sequence[Command], int, AsyncResult]] = []
        self.exchanges = 0  # gatherings sent, and the round trips they carried (in /healthz)
        self.round_trips = 0

    def round_trip(self, commands: Sequence[Command], tolerate: int = 0) -> list:
        result = self._result()
        self._waiting.append((commands, tolerate, result))
        if len(self._waiting) == 1:
            self._spawn(self._send)  # runs after this turn's ready requests
        return result.get()

    def send_unwaited(self, commands: Sequence[Command]) -> None:
        self.trips.send_unwaited(commands)

    def _send(self) -> None:
        gathered, self._waiting = self._waiting, []
        self.exchanges += 1
        self.round_trips += len(gathered)
        try:
            replies = self.trips.replies([c for commands, _, _ in gathered for c in commands])
        except BaseException as error:  # a failed connection fails every request of it
            for _, _, result in gathered:
                result.set_exception(error)  # never leave a request waiting
            if isinstance(error, redis.RedisError):
                return
            raise
        start = 0
        for commands, tolerate, result in gathered:
            own = replies[start : start + len(commands)]
            start += len(commands)
            failure = failure_of(own, tolerate)
            if failure is None:
                result.set(own)
            else:
                result.set_exception(failure)

    def counts(self) -> dict:
        return {"gathered_exchanges": self.exchanges, "gathered_round_trips": self.round_trips}


def gathering(trips):
    """`trips` gathered when this process runs under gevent (a gunicorn gevent worker), else as
    they are."""
    try:
        from gevent import monkey
    except ImportError:
        return trips
    return Gathering(trips) if monkey.is_module_patched("socket") else trips
