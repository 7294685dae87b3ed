"""A botify config's recommender chains run in-process, without HTTP or Redis: the simulator's
fast offline evaluation.

The data files that the config names are read into memory, users are routed to arms exactly as
the service routes them (or all to one `arm`), and per-user state (session, history) lives in
dicts. The recommenders are the service's own classes, so an in-process run and a served run
make the same decisions.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from botify.config import Config, load_config
from botify.data import EMPTY_SESSION, DataView, Key, Session, Snapshot
from botify.dataset import Dataset, read_configured_dataset
from botify.experiments import Experiments, build_experiments


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

    def _value(self, key: Key):
        kind = key[0]
        if kind in ("items", "users"):
            sources = self.dataset.items if kind == "items" else self.dataset.users
            lists = sources.get(key[1])
            return None if lists is None else lists.get(key[2])
        if kind == "history":
            return self.histories.get(key[1], [])
        if kind == "session":
            return self.sessions.get(key[1], EMPTY_SESSION)
        raise ValueError(f"unknown read {key!r}")

    def read(self, keys: Sequence[Key], version: str | None = None) -> tuple[Snapshot, list]:
        return self.snapshot, [self._value(key) for key in keys]

    def record(self, user, track, time, recommendation, state) -> None:
        if "history" in state:
            history = self.histories.setdefault(user, [])
            history.insert(0, (track, time))
            del history[self.history_length :]
        if "session" in state:
            session = self.sessions.get(user, EMPTY_SESSION)
            played = {track} if recommendation is None else {track, recommendation}
            first = track if session.first_track is None else session.first_track
            self.sessions[user] = Session(session.seen | played, first)

    def end_session(self, user: int) -> None:
        self.sessions.pop(user, None)


class InProcessRecommender:
    def __init__(
        self,
        config: Config,
        dataset: Dataset | None = None,
        *,
        arm: str | None = None,
        seed: int = 0,
    ):
        self.config = config
        self.store = MemoryStore(
            dataset if dataset is not None else read_configured_dataset(config),
            config["history_length"],
        )
        self.data = DataView(self.store)
        self.experiments: Experiments = build_experiments(config, self.data, seed=seed)
        routing = self.experiments.routing
        if arm is not None and arm not in routing.chains:
            raise ValueError(
                f"arm {arm!r} is not an arm of experiment {routing.name!r} "
                f"(arms: {', '.join(routing.chains)})"
            )
        self.arm = arm

    @classmethod
    def from_config(
        cls, config_path: str | os.PathLike, *, arm: str | None = None, seed: int = 0
    ) -> InProcessRecommender:
        return cls(load_config(config_path), arm=arm, seed=seed)

    @property
    def catalog(self):
        return self.store.snapshot.catalog

    def _chain(self, user: int):
        if self.arm is not None:
            return self.experiments.routing.chains[self.arm]
        return self.experiments.assign(user)[0]

    def recommend_next(self, user: int, prev_track: int, prev_track_time: float) -> int:
        """As POST /next: the recommendation, with the user's state kept as the service keeps it."""
        chain = self._chain(user)
        track, _ = chain.recommend(user, prev_track, prev_track_time)
        self.store.record(user, prev_track, prev_track_time, track, chain.state)
        return track

    def end_session(self, user: int) -> None:
        """As POST /last."""
        self.store.end_session(user)
