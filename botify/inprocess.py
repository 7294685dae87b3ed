"""A botify config's experiment run in-process, without HTTP or Redis: the simulator's fast
offline evaluation, and the lab's logged in-process day.

The data files that the config names are read into memory and per-user state (session, history)
lives in dicts (`MemoryStore`); requests go through the service's own `Service`, so users are
routed to arms, chains run, state is kept and events are logged exactly as the service does it.
What differs is injected: the store, the clock of the events' timestamps, and where events go
(nowhere unless a log is given).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from botify.config import Config, load_config
from botify.data import EMPTY_SESSION, DataView, Listen, Read, Session, Snapshot
from botify.dataset import Dataset, read_configured_dataset
from botify.experiments import build_experiments
from botify.service import EventSink, Service, wall_clock_ms


class MemoryStore:
    """A `Store` over a dataset in memory."""

    def __init__(self, dataset: Dataset, history_length: int = 20):
        self.dataset = dataset
        self.history_length = history_length
        self.snapshot = Snapshot(
            "memory",
            dataset.catalog,
            dataset.top_tracks,
            {("items", name): lists for name, lists in dataset.items.items()}
            | {("users", name): lists for name, lists in dataset.users.items()},
        )
        self.histories: dict[int, list[tuple[int, float]]] = {}
        self.sessions: dict[int, Session] = {}

    def _value(self, key: Read):
        if key.source:
            lists = self.snapshot.lists.get(key.lists)
            return None if lists is None else lists.get(key.id)
        if key.kind == "history":
            # A copy, as Redis's reply is: the request's own listen, recorded in the same step,
            # must not show up in what it read (LRANGE runs before LPUSH in the round trip).
            return list(self.histories.get(key.id, ()))
        if key.kind == "session":
            return self.sessions.get(key.id, EMPTY_SESSION)
        raise ValueError(f"unknown read {key!r}")

    def known_snapshot(self) -> Snapshot:
        return self.snapshot

    def read(
        self, keys: Sequence[Read], version: str | None = None, listen: Listen | None = None
    ) -> tuple[Snapshot, list]:
        values = [self._value(key) for key in keys]
        if listen is not None:
            user, track, time, state = listen
            if "history" in state:
                history = self.histories.setdefault(user, [])
                history.insert(0, (track, time))
                del history[self.history_length :]
            self.recommended(user, track, state)
        return self.snapshot, values

    def recommended(self, user: int, track: int, state: frozenset[str]) -> None:
        if "session" in state:
            session = self.sessions.get(user, EMPTY_SESSION)
            first = track if session.first_track is None else session.first_track
            self.sessions[user] = Session(session.seen | {track}, first)

    def record(self, user, track, time, recommendation, state) -> None:
        self.read((), listen=Listen(user, track, time, state))
        if recommendation is not None:
            self.recommended(user, recommendation, state)

    def end_session(self, user: int) -> None:
        self.sessions.pop(user, None)


class DiscardEvents:
    """An event sink that keeps nothing: an in-process run that was given no log."""

    def write(self, event: dict) -> None:
        pass


class InProcessRecommender:
    """The service's decisions for a config, in this process. `arm` pins every user to one arm
    of the routing experiment; `seed` makes the random picks reproducible; `events` receives
    every event (a botify.eventlog.EventLog writes the service's log), stamped by `clock_ms`."""

    def __init__(
        self,
        config: Config,
        dataset: Dataset | None = None,
        *,
        arm: str | None = None,
        seed: int = 0,
        events: EventSink | None = None,
        clock_ms: Callable[[], int] = wall_clock_ms,
    ):
        self.config = config
        self.store = MemoryStore(
            dataset if dataset is not None else read_configured_dataset(config),
            config["history_length"],
        )
        data = DataView(self.store)
        experiments = build_experiments(config, data, seed=seed)
        if arm is not None:
            experiments = experiments.pinned(arm)
        self.service = Service(
            self.store, data, experiments, events or DiscardEvents(), clock_ms=clock_ms
        )

    @classmethod
    def from_config(cls, config_path: str | os.PathLike, **options) -> InProcessRecommender:
        return cls(load_config(config_path), **options)

    @property
    def catalog(self):
        return self.store.snapshot.catalog

    def recommend_next(self, user: int, prev_track: int, prev_track_time: float) -> int:
        """As POST /next: the recommendation, with the user's state kept as the service keeps it."""
        answer = self.service.next(user, prev_track, prev_track_time, self.service.arrival())
        return answer["track"]

    def end_session(self, user: int, last_track: int, last_track_time: float) -> None:
        """As POST /last."""
        self.service.last(user, last_track, last_track_time, self.service.arrival())
