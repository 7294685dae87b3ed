"""The listener model, the course's exactly:

- a session starts from a track drawn among the `interest_neighbours` nearest neighbours of
  one of the user's interests (drawn uniformly); that first track is listened to fully;
- a recommended track already played in the session is listened to for 0;
- otherwise the listened fraction is
  sigmoid((similarity - consume_bias) * consume_sharpness) * gamma ** (plays of its artist
  in the session so far), rounded to 2 decimals, where similarity is the dot product of the
  track's embedding with the session interest's;
- a step whose fraction is below a uniform draw costs one unit of the session's budget, and
  the session ends when the budget is spent.

Every play counts for the artist discount and the repeat rule, the first track and the ones
listened to for 0 included, as in the course."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class UserParams:
    """A listener's parameters; the defaults are sim/config.yaml's (which says why)."""

    interest_neighbours: int = 10
    consume_bias: float = 0.55
    consume_sharpness: float = 12.0
    session_budget: int = 5
    artist_discount_gamma: float = 0.8


def sigmoid(x: float) -> float:
    if x < -700.0:  # exp would overflow; the value rounds to 0 anyway
        return 0.0
    return 1.0 / (1.0 + math.exp(-x))


def round2(x: float) -> float:
    """numpy.around(x, 2): half to even on x * 100, as the course rounds."""
    return round(x * 100.0) / 100.0


def listened_fraction(
    similarity: float, bias: float, sharpness: float, gamma: float, artist_plays: int
) -> float:
    return round2(sigmoid((similarity - bias) * sharpness) * gamma**artist_plays)


class ListeningSession:
    """One listening session of one user. Randomness comes only from `rng`, so a session is
    reproducible from its seed whatever else runs."""

    __slots__ = (
        "user",
        "params",
        "interest",
        "embedding",
        "budget",
        "played",
        "heard",
        "artist_plays",
        "steps",
        "total_time",
        "finished",
        "_rng",
        "_embeddings",
        "_track_artist",
    )

    def __init__(
        self,
        user: int,
        params: UserParams,
        interest: int,
        first_track: int,
        embeddings: np.ndarray,
        track_artist: np.ndarray,
        rng: np.random.Generator,
    ) -> None:
        self.user = user
        self.params = params
        self.interest = interest
        self.embedding = embeddings[interest]
        self.budget = params.session_budget
        self._rng = rng
        self._embeddings = embeddings
        self._track_artist = track_artist
        self.played: list[int] = [first_track]
        self.heard: set[int] = {first_track}
        self.artist_plays: dict[int, int] = {int(track_artist[first_track]): 1}
        self.steps = 0
        self.total_time = 0.0
        self.finished = False

    @property
    def track(self) -> int:
        """The track playing now."""
        return self.played[-1]

    def similarity(self, track: int) -> float:
        return float(self._embeddings[track] @ self.embedding)

    def listen(self, track: int) -> float:
        """The fraction of `track` the user would listen to now, without playing it."""
        if track in self.heard:
            return 0.0
        p = self.params
        plays = self.artist_plays.get(int(self._track_artist[track]), 0)
        return listened_fraction(
            self.similarity(track),
            p.consume_bias,
            p.consume_sharpness,
            p.artist_discount_gamma,
            plays,
        )

    def consume(self, track: int) -> float:
        """Play a recommended track: its listened fraction; may end the session."""
        if self.finished:
            raise RuntimeError("the session has ended")
        time = self.listen(track)
        if self._rng.random() > time:
            self.budget -= 1
        self.played.append(track)
        self.heard.add(track)
        artist = int(self._track_artist[track])
        self.artist_plays[artist] = self.artist_plays.get(artist, 0) + 1
        self.steps += 1
        self.total_time += time
        if self.budget <= 0:
            self.finished = True
        return time
