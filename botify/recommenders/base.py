"""The recommender interface: `recommend_next(user, prev_track, prev_track_time) -> int | None`.

A recommender answers None when it has nothing to say; its chain then asks the next one.
Most recommenders only produce candidates, best first; the base class picks one of them, either
the best (`ranked`) or at random, skipping what the session has already played or been
recommended (`no_repeat`). `choose` answers with the probability the track was chosen with (its
propensity, logged with the event); a subclass that overrides `recommend_next` instead of
`candidates` or `draw` answers with an unknown propensity.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import NamedTuple

import numpy as np

from botify.data import DataView, Read, session_key
from botify.recommenders.draws import Draw, Ranked, Uniform, pick

__all__ = ["Choice", "Recommender", "pick", "states_propensities"]


# A seeded request's own random streams, by recommender (config `seed`): a worker interleaves
# requests (under gevent, at every Redis read), so a request must never draw from a stream
# another request has advanced.
_REQUEST_STREAMS: ContextVar[dict[int, random.Random] | None] = ContextVar(
    "botify_request_streams", default=None
)


@contextmanager
def request_streams() -> Iterator[None]:
    """Within the block, `reseed` gives each recommender a stream of this request's own."""
    token = _REQUEST_STREAMS.set({})
    try:
        yield
    finally:
        _REQUEST_STREAMS.reset(token)


class Choice(NamedTuple):
    track: int
    propensity: float | None  # the probability it was chosen with; None: the recommender's own


class Recommender:
    """Subclass this for a recommender of your own, and override `candidates` (or
    `recommend_next` for full control). Read data through `self.data` (a `botify.data.DataView`).
    """

    # Per-user state the recommender reads, so the service keeps it: "session" (what the session
    # played and was recommended, and its first track), "history" (the user's recent listens).
    state: frozenset[str] = frozenset()

    def __init__(
        self,
        data: DataView,
        *,
        ranked: bool = False,
        no_repeat: bool = False,
        seed: int | str | None = None,
    ):
        for name, value in (("ranked", ranked), ("no_repeat", no_repeat)):
            if not isinstance(value, bool):
                raise ValueError(f"option '{name}' must be true or false, got {value!r}")
        self.data = data
        self.ranked = ranked
        self.no_repeat = no_repeat
        self._rng = random.Random(seed)
        if no_repeat:
            self.state = self.state | {"session"}

    def reads(self, user: int, prev_track: int) -> list[Read]:
        """What this request will read, so the service fetches it all in one round trip."""
        return [session_key(user)] if self.no_repeat else []

    def candidates(
        self, user: int, prev_track: int, prev_track_time: float
    ) -> Sequence[int] | np.ndarray | None:
        raise NotImplementedError

    def draw(self, user: int, prev_track: int, prev_track_time: float) -> Draw | None:
        """The distribution of this request's answer, or None when there is nothing to say."""
        candidates = self.candidates(user, prev_track, prev_track_time)
        if candidates is None or len(candidates) == 0:
            return None
        excluded = self.excluded(user, prev_track)
        if self.ranked:
            best = pick(candidates, True, excluded, self.rng)
            return None if best is None else Ranked(best)
        uniform = Uniform(candidates, excluded)
        return uniform if uniform.left else None  # all excluded: nothing to say

    def choose(self, user: int, prev_track: int, prev_track_time: float) -> Choice | None:
        if not states_propensities(self):
            track = self.recommend_next(user, prev_track, prev_track_time)
            return None if track is None else Choice(track, None)
        draw = self.draw(user, prev_track, prev_track_time)
        track = None if draw is None else draw.sample(self.rng)
        if draw is None or track is None:
            return None
        return Choice(track, draw.probability(track))

    def recommend_next(self, user: int, prev_track: int, prev_track_time: float) -> int | None:
        choice = self.choose(user, prev_track, prev_track_time)
        return None if choice is None else choice.track

    @property
    def rng(self) -> random.Random:
        """The stream this recommender draws from: the request's own inside `request_streams`
        once reseeded, else the recommender's."""
        streams = _REQUEST_STREAMS.get()
        if streams is None:
            return self._rng
        return streams.get(id(self), self._rng)

    def reseed(self, key: str) -> None:
        """Seed this request's random picks (a config's `seed`: reproducible runs)."""
        streams = _REQUEST_STREAMS.get()
        if streams is None:
            self._rng.seed(key)
        else:
            streams[id(self)] = random.Random(key)

    def excluded(self, user: int, prev_track: int) -> frozenset[int]:
        """With no_repeat, what the session has played (the previous track too) or been
        recommended; else nothing."""
        if not self.no_repeat:
            return frozenset()
        return self.data.session(user).seen | {prev_track}

    def describe(self) -> dict:
        options = {"ranked": self.ranked, "no_repeat": self.no_repeat}
        return {"recommender": type(self).__name__, **options}


def states_propensities(recommender: object) -> bool:
    """Whether the recommender answers by its `draw` (so with a known propensity): not a
    Recommender subclass that overrides `recommend_next` itself."""
    return (
        isinstance(recommender, Recommender)
        and type(recommender).recommend_next is Recommender.recommend_next
    )
