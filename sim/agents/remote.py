"""The `remote` agent: botify over HTTP, with the course's protocol.

`POST /next/<user>` with `{"track": <the track playing>, "time": <its listened fraction>}`
answers `{"user", "track": <next>}`; `POST /last/<user>` with the same body ends the session.

Many sessions are in flight at once (sim.day), each slot on its own keep-alive connection;
how many of their requests are in flight at once follows the service's latency (sim.limit), so
that the service is kept busy without a queue. A connection error (on a fresh connection) or a
503 is retried with exponential backoff; when the retries run out the service is down and the
run stops. An answer that is not a 200 with a track of the catalog is a bad answer: the session
is cut short, the answer counted, and the run stops after `max_errors` of them."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

from sim.config import RemoteSection
from sim.errors import SimError
from sim.http import Connection, ConnectionProblem, Endpoint, GarbledAnswer
from sim.limit import AdaptiveLimit, FixedLimit

MAX_DELAY = 2.0
UNAVAILABLE = 503


class BadAnswer(Exception):
    """This session cannot go on: the service answered something unusable."""


@dataclass
class RemoteStats:
    requests: int = 0
    retries: int = 0
    bad_answers: int = 0
    first_bad_answer: str | None = None
    limit_windows: int = 0  # windows the adaptive in-flight limit was judged on
    limit_total: float = 0.0  # the sum of the limits they set

    def merge(self, other: RemoteStats) -> None:
        self.requests += other.requests
        self.retries += other.retries
        self.bad_answers += other.bad_answers
        self.first_bad_answer = self.first_bad_answer or other.first_bad_answer
        self.limit_windows += other.limit_windows
        self.limit_total += other.limit_total

    def judged(self, limit: float) -> None:
        self.limit_windows += 1
        self.limit_total += limit


class RemoteAgent:
    """Holds the options and counters; each in-flight slot talks through its own `Slot`."""

    name = "remote"

    def __init__(self, options: RemoteSection, n_tracks: int) -> None:
        try:
            self.endpoint = Endpoint.parse(options.url)
        except ValueError as error:
            raise SimError(f"remote url: {error}") from None
        self.options = options
        self.url = options.url.rstrip("/")
        self.n_tracks = n_tracks
        self.sessions_in_flight = options.sessions_in_flight
        self.stats = RemoteStats()
        self.limit = (
            AdaptiveLimit(options.sessions_in_flight, options.latency_tolerance, self.stats.judged)
            if options.in_flight_limit == "adaptive"
            else FixedLimit(options.sessions_in_flight)
        )

    def slot(self) -> Slot:
        return Slot(self)

    def bad_answer(self, message: str) -> BadAnswer:
        stats = self.stats
        if stats.bad_answers >= self.options.max_errors:
            # the run is stopping already; this slot's answer is one of the same kind
            return BadAnswer(message)
        stats.bad_answers += 1
        stats.first_bad_answer = stats.first_bad_answer or message
        if stats.bad_answers >= self.options.max_errors:
            raise SimError(
                f"stopping after {stats.bad_answers} bad answers from {self.url}; first: "
                f"{stats.first_bad_answer}"
            )
        return BadAnswer(message)


def _body(track: int, time: float) -> bytes:
    return b'{"track": %d, "time": %r}' % (track, float(time))


class Slot:
    """One session at a time over one keep-alive connection (async counterpart of Agent)."""

    def __init__(self, agent: RemoteAgent) -> None:
        self.agent = agent
        self.connection = Connection(agent.endpoint, agent.options.timeout)

    async def _post(self, path: str, body: bytes) -> tuple[int, bytes]:
        """(status, body), retrying connection errors and 503s (the service is unavailable
        for now, e.g. its Redis is: it rejected the request and changed nothing)."""
        agent, options = self.agent, self.agent.options
        attempt = 0
        while True:
            agent.stats.requests += 1
            await agent.limit.acquire()
            sent, latency = time.perf_counter(), None
            try:
                status, payload = await self.connection.post(path, body)
                if status != UNAVAILABLE:
                    latency = time.perf_counter() - sent
                    return status, payload
                problem = f"answered {status} {_clip(payload)}"
            except GarbledAnswer as error:
                raise agent.bad_answer(f"POST {path} answered garbage ({error})") from None
            except ConnectionProblem as error:
                problem = str(error)
            finally:
                agent.limit.release(latency)
            if attempt >= options.retries:
                raise SimError(
                    f"the service at {agent.url} is down: POST {path}: {problem} "
                    f"({attempt + 1} attempts)"
                )
            # an idle keep-alive connection the server has closed: retry at once
            stale = attempt == 0 and self.connection.reused and problem.startswith("connection")
            delay = 0.0 if stale else min(options.backoff * 2**attempt, MAX_DELAY)
            attempt += 1
            agent.stats.retries += 1
            await asyncio.sleep(delay)

    async def recommend(
        self, observation: dict[str, int], reward: float, info: dict[str, Any]
    ) -> int:
        user = observation["user"]
        path = f"/next/{user}"
        status, payload = await self._post(path, _body(observation["track"], reward))
        if status != 200:
            raise self.agent.bad_answer(f"POST {path} answered {status} {_clip(payload)}")
        try:
            answer = json.loads(payload)
            track = answer["track"]
        except (ValueError, TypeError, KeyError):
            raise self.agent.bad_answer(
                f"POST {path} answered {_clip(payload)}, not {{user, track}}"
            ) from None
        if (
            not isinstance(track, int)
            or isinstance(track, bool)
            or not 0 <= track < self.agent.n_tracks
        ):
            raise self.agent.bad_answer(f"POST {path} answered track {track!r}, not in the catalog")
        if answer.get("user", user) != user:
            raise self.agent.bad_answer(f"POST {path} answered for user {answer.get('user')!r}")
        return track

    async def end_session(
        self, observation: dict[str, int], reward: float, info: dict[str, Any]
    ) -> None:
        path = f"/last/{observation['user']}"
        status, payload = await self._post(path, _body(observation["track"], reward))
        if status != 200:
            raise self.agent.bad_answer(f"POST {path} answered {status} {_clip(payload)}")

    async def close(self) -> None:
        await self.connection.close()


def _clip(payload: bytes, limit: int = 80) -> str:
    text = payload.decode("utf-8", "replace").strip()
    return repr(text if len(text) <= limit else text[:limit] + "...")
