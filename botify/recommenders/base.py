"""The recommender interface: `recommend_next(user, prev_track, prev_track_time) -> int | None`.

A recommender answers None when it has nothing to say; its chain then asks the next one.
Most recommenders only produce candidates, best first; the base class picks one of them, either
the best (`ranked`) or at random, skipping what the session has already played or been
recommended (`no_repeat`).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import numpy as np

from botify.data import DataView, Read, session_key


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
        seed: int | None = None,
    ):
        for name, value in (("ranked", ranked), ("no_repeat", no_repeat)):
            if not isinstance(value, bool):
                raise ValueError(f"option '{name}' must be true or false, got {value!r}")
        self.data = data
        self.ranked = ranked
        self.no_repeat = no_repeat
        self.rng = random.Random(seed)
        if no_repeat:
            self.state = self.state | {"session"}

    def reads(self, user: int, prev_track: int) -> list[Read]:
        """What this request will read, so the service fetches it all in one round trip."""
        return [session_key(user)] if self.no_repeat else []

    def candidates(
        self, user: int, prev_track: int, prev_track_time: float
    ) -> Sequence[int] | np.ndarray | None:
        raise NotImplementedError

    def recommend_next(self, user: int, prev_track: int, prev_track_time: float) -> int | None:
        candidates = self.candidates(user, prev_track, prev_track_time)
        if candidates is None or len(candidates) == 0:
            return None
        return pick(candidates, self.ranked, self.excluded(user, prev_track), self.rng)

    def excluded(self, user: int, prev_track: int) -> frozenset[int]:
        """With no_repeat, what the session has played (the previous track too) or been
        recommended; else nothing."""
        if not self.no_repeat:
            return frozenset()
        return self.data.session(user).seen | {prev_track}

    def describe(self) -> dict:
        options = {"ranked": self.ranked, "no_repeat": self.no_repeat}
        return {"recommender": type(self).__name__, **options}


def pick(
    candidates: Sequence[int] | np.ndarray,
    ranked: bool,
    excluded: frozenset[int],
    rng: random.Random,
) -> int | None:
    """The first candidate not excluded (ranked), or a uniformly random one."""
    if ranked:
        if not excluded:
            return int(candidates[0])
        for candidate in candidates:
            if int(candidate) not in excluded:
                return int(candidate)
        return None
    size = len(candidates)
    # A few draws almost always succeed; filtering the whole list is the rare fallback.
    for _ in range(8):
        candidate = int(candidates[rng.randrange(size)])
        if candidate not in excluded:
            return candidate
    remaining = [
        c
        for c in (candidates.tolist() if isinstance(candidates, np.ndarray) else candidates)
        if c not in excluded
    ]
    return int(rng.choice(remaining)) if remaining else None
