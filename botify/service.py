"""What /next and /last do, apart from HTTP: route the user to an arm, run its chain on one
round trip of reads, keep the user's state, log the event."""

from __future__ import annotations

import time

from botify.data import DataView
from botify.eventlog import EventLog
from botify.experiments import Experiments
from botify.store import RedisStore
from botify.validation import BadInput


class Service:
    def __init__(
        self, store: RedisStore, data: DataView, experiments: Experiments, events: EventLog
    ):
        self.store = store
        self.data = data
        self.experiments = experiments
        self.events = events

    def next(self, user: int, track: int, listened: float, started: float) -> dict:
        chain, arms = self.experiments.assign(user)
        with self.data.request(chain.reads(user, track, listened)) as snapshot:
            if track not in snapshot.catalog:
                raise BadInput(f"track: {track} is not in the catalog", status=404)
            recommendation, link = chain.recommend(user, track, listened)
        # State changes only once the answer is known: a request that fails changes nothing.
        self.store.record(user, track, listened, recommendation, chain.state)
        self._log("next", user, track, listened, started, recommendation, arms, link)
        return {"user": user, "track": recommendation}

    def last(self, user: int, track: int, listened: float, started: float) -> dict:
        _, arms = self.experiments.assign(user)
        if track not in self.data.catalog:
            raise BadInput(f"track: {track} is not in the catalog", status=404)
        self.store.end_session(user)
        self._log("last", user, track, listened, started, None, arms, None)
        return {"user": user}

    def _log(self, message, user, track, listened, started, recommendation, arms, link) -> None:
        self.events.write(
            {
                "message": message,
                "timestamp": int(time.time() * 1000),
                "user": user,
                "track": track,
                "time": listened,
                "latency": time.perf_counter() - started,
                "recommendation": recommendation,
                "experiments": arms,
                "recommender": link,
            }
        )
