"""What recommenders read, and how one request reads it all in one round trip.

A recommender holds a `DataView`. Its reads go to a `Store` (Redis in the service, memory in the
simulator's in-process mode). While the service handles a request, the view serves reads from
what `DataView.request()` fetched up front for the whole chain (one pipelined round trip); a read
that nobody declared is fetched on demand, from the same data version.

The same round trip records the request's `Listen` (the user's history and session keep the
track played, whatever the answer), after the reads. Inside a request, the history and session a
recommender reads always include this request's own listen, as the course's service (which
records the listen before it asks the recommender) gives them: a declared read, fetched before
the listen was recorded, has the listen applied to it by the view; an undeclared one, fetched
after, finds it recorded. Only state the chain keeps (`Listen.state`) is recorded or applied.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

import numpy as np

from botify.dataset import Catalog, Lists


class Read(NamedTuple):
    """One value a recommender reads: a track's item list or a user's list in a list source, or a
    user's history or session. Hashable, so a request's reads are deduplicated."""

    kind: str  # "items", "users", "history" or "session"
    id: int  # the track (items) or the user (the others)
    source: str = ""  # the list source of "items" and "users"

    @property
    def lists(self) -> tuple[str, str]:
        """The list source as `Snapshot.lists` names it: ("items", "i2i")."""
        return (self.kind, self.source)


def items_key(source: str, track: int) -> Read:
    return Read("items", track, source)


def users_key(source: str, user: int) -> Read:
    return Read("users", user, source)


def history_key(user: int) -> Read:
    return Read("history", user)


def session_key(user: int) -> Read:
    return Read("session", user)


class Listen(NamedTuple):
    """What a /next records whatever it answers: the track the user played and how much of it,
    into the per-user state that the chain keeps (`state`: "history", "session")."""

    user: int
    track: int
    time: float
    state: frozenset[str]


@dataclass(frozen=True)
class Session:
    """The user's current session: what it has played or been recommended, and how it began."""

    seen: frozenset[int] = frozenset()
    first_track: int | None = None


EMPTY_SESSION = Session()


@dataclass
class Snapshot:
    """One loaded data version's small, global parts, kept in each process's memory."""

    version: str
    catalog: Catalog
    top_tracks: np.ndarray
    # List sources held whole in memory, by (kind, source): ("items", "i2i"), ("users", "als").
    lists: dict[tuple[str, str], Lists] = field(default_factory=dict)


class NoData(RuntimeError):
    """No data version is loaded yet."""


class Store(Protocol):
    history_length: int  # the listens a user's history keeps, newest first

    def known_snapshot(self) -> Snapshot:
        """The snapshot this process last knew to be live (read from the store only the first
        time), to check a request before its round trip."""

    def read(
        self, keys: Sequence[Read], version: str | None = None, listen: Listen | None = None
    ) -> tuple[Snapshot, list]:
        """The current snapshot and the values of `keys`, consistent with it. With `version`,
        read that version's data (a request keeps the version it started with). With `listen`,
        record it in the same round trip, after the reads."""

    def recommended(self, user: int, track: int, state: frozenset[str]) -> None:
        """Add the answer of a /next to the user's session (if `state` keeps one), without
        waiting for the store to confirm it."""

    def record(
        self, user: int, track: int, time: float, recommendation: int | None, state: frozenset[str]
    ) -> None:
        """Remember a `/next` at once: the listen and its answer (`read` with a `listen`, then
        `recommended`, in one call). `state` says which of "history" and "session" to keep."""

    def end_session(self, user: int) -> None:
        """Forget the user's session (at `/last`)."""


@dataclass
class _RequestReads:
    snapshot: Snapshot
    values: dict[Read, object] = field(default_factory=dict)


def with_listen(key: Read, value: object, listen: Listen, history_length: int) -> object:
    """A value of the user's state read before `listen` was recorded, as it is after."""
    user, track, time, state = listen
    if key.id != user:
        return value
    if key.kind == "history" and "history" in state:
        return [(track, time), *value][:history_length]  # type: ignore[misc]
    if key.kind == "session" and "session" in state:
        session: Session = value  # type: ignore[assignment]
        first = track if session.first_track is None else session.first_track
        return Session(session.seen | {track}, first)
    return value


_current: contextvars.ContextVar[_RequestReads | None] = contextvars.ContextVar(
    "botify_request_reads", default=None
)


class NoStore:
    """The store of a view that is never read: chains built only to check a config."""

    history_length = 0

    def known_snapshot(self) -> Snapshot:
        raise NoData("no data: this view only checks a config")

    def read(self, keys, version=None, listen=None) -> tuple[Snapshot, list]:
        raise NoData("no data: this view only checks a config")

    def recommended(self, user, track, state) -> None:
        raise NoData("no data: this view only checks a config")

    def record(self, user, track, time, recommendation, state) -> None:
        raise NoData("no data: this view only checks a config")

    def end_session(self, user: int) -> None:
        raise NoData("no data: this view only checks a config")


class DataView:
    """The data as recommenders see it: the current version's catalog, top tracks and lists.
    Without a store (None), a view for building chains to check a config."""

    def __init__(self, store: Store | None):
        self.store: Store = NoStore() if store is None else store

    @contextmanager
    def request(
        self, keys: Sequence[Read] = (), listen: Listen | None = None
    ) -> Iterator[Snapshot]:
        """Fetch `keys` in one round trip (recording `listen` in it) and serve them to every read
        inside the block, the user's state with the listen in it."""
        snapshot, values = self.store.read(keys, listen=listen)
        if listen is not None:
            length = self.store.history_length
            values = [with_listen(k, v, listen, length) for k, v in zip(keys, values, strict=True)]
        token = _current.set(_RequestReads(snapshot, dict(zip(keys, values, strict=True))))
        try:
            yield snapshot
        finally:
            _current.reset(token)

    def _read(self, keys: Sequence[Read]) -> list:
        reads = _current.get()
        if reads is None:
            return self.store.read(keys)[1]
        missing = [key for key in keys if key not in reads.values]
        if missing:
            _, values = self.store.read(missing, version=reads.snapshot.version)
            reads.values.update(zip(missing, values, strict=True))
        return [reads.values[key] for key in keys]

    @property
    def snapshot(self) -> Snapshot:
        reads = _current.get()
        return reads.snapshot if reads is not None else self.store.read(())[0]

    @property
    def catalog(self) -> Catalog:
        return self.snapshot.catalog

    @property
    def top_tracks(self) -> np.ndarray:
        return self.snapshot.top_tracks

    def item_recommendations(self, source: str, track: int) -> np.ndarray | None:
        """The item-to-item list of `track` in `source`, best first; None when it has none."""
        return self._read([items_key(source, track)])[0]

    def item_recommendations_many(self, source: str, tracks: Sequence[int]) -> list:
        return self._read([items_key(source, track) for track in tracks])

    def user_recommendations(self, source: str, user: int) -> np.ndarray | None:
        """The user's list in `source`, best first; None for a user it does not know."""
        return self._read([users_key(source, user)])[0]

    def history(self, user: int) -> list[tuple[int, float]]:
        """The user's recent listens, newest first: (track, listened fraction); inside a request,
        its own listen first."""
        return self._read([history_key(user)])[0]

    def session(self, user: int) -> Session:
        return self._read([session_key(user)])[0]
