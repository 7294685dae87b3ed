"""What a recommender would answer for one request, as a probability distribution: it draws the
track, and states the probability of any track (the propensity that the event log records, so
that a log can evaluate other policies off-policy).

- `Ranked`: the best candidate not excluded, with probability 1.
- `Uniform`: a uniformly random candidate not excluded: 1 / (candidates left).
- `Weighted`: a candidate in proportion to its weight.
- `Mixture`: with probability epsilon one draw (exploration), else the other.

Candidates are distinct track ids. A recommender decides deterministically whether it answers
at all (from the request and the state it reads), so a chain's propensity is that of the link
that answered.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from functools import cached_property

import numpy as np


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


class Draw:
    def sample(self, rng: random.Random) -> int | None:
        raise NotImplementedError

    def probability(self, track: int) -> float:
        raise NotImplementedError


class Ranked(Draw):
    def __init__(self, track: int):
        self.track = track

    def sample(self, rng: random.Random) -> int:
        return self.track

    def probability(self, track: int) -> float:
        return 1.0 if track == self.track else 0.0


def _member_test(candidates: Sequence[int] | np.ndarray) -> Callable[[int], bool]:
    if isinstance(candidates, np.ndarray):
        return lambda track: bool((candidates == track).any())
    return candidates.__contains__


class Uniform(Draw):
    """`contains`: a faster membership test than a scan, where the caller has one (the
    catalog's index for the whole catalog)."""

    def __init__(
        self,
        candidates: Sequence[int] | np.ndarray,
        excluded: frozenset[int],
        contains: Callable[[int], bool] | None = None,
    ):
        self.candidates = candidates
        self.excluded = excluded
        self.contains = contains or _member_test(candidates)

    @cached_property
    def left(self) -> int:
        """How many candidates are not excluded."""
        return len(self.candidates) - sum(1 for track in self.excluded if self.contains(track))

    def sample(self, rng: random.Random) -> int | None:
        return pick(self.candidates, False, self.excluded, rng)

    def probability(self, track: int) -> float:
        if track in self.excluded or not self.left or not self.contains(track):
            return 0.0
        return 1.0 / self.left


class Weighted(Draw):
    def __init__(self, tracks: np.ndarray, weights: np.ndarray):
        self.tracks = tracks
        self.weights = weights
        self.cumulative = np.cumsum(weights)

    def sample(self, rng: random.Random) -> int:
        threshold = rng.random() * self.cumulative[-1]
        position = int(np.searchsorted(self.cumulative, threshold))
        return int(self.tracks[min(position, len(self.tracks) - 1)])

    def probability(self, track: int) -> float:
        return float(self.weights[self.tracks == track].sum() / self.cumulative[-1])


class Mixture(Draw):
    """With probability `epsilon` the `explore` draw, else `base`; a track's probability is the
    mixture's, whichever of the two drew it."""

    def __init__(self, epsilon: float, explore: Draw, base: Draw):
        self.epsilon = epsilon
        self.explore = explore
        self.base = base

    def sample(self, rng: random.Random) -> int | None:
        return (self.explore if rng.random() < self.epsilon else self.base).sample(rng)

    def probability(self, track: int) -> float:
        explored = self.explore.probability(track)
        return self.epsilon * explored + (1.0 - self.epsilon) * self.base.probability(track)
