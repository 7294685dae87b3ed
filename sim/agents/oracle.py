"""The `oracle` agent: it reads the hidden world and plays, at each step, the unplayed track
with the largest expected listened fraction for this session (the session's interest, the
user's bias and sharpness, the artist discount). It is greedy, so not strictly optimal, but no
recommender that learns from logs can know more: it is the ceiling in the calibration table."""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.agents.base import Agent
from sim.env import RecEnv
from sim.neighbours import dense_top_k
from sim.user import ListeningSession, sigmoid

CANDIDATES = 512


class OracleAgent(Agent):
    name = "oracle"

    def __init__(self) -> None:
        self._env: RecEnv | None = None
        self._session: ListeningSession | None = None
        self._order: list[int] = []
        self._scores: np.ndarray = np.empty(0)
        self._raw: dict[int, float] = {}

    def attach(self, env: RecEnv) -> None:
        inner = env.unwrapped  # gymnasium.make wraps the RecEnv, whose world and session we read
        if not isinstance(inner, RecEnv):
            raise TypeError(f"the oracle needs a RecEnv, not {type(inner).__name__}")
        if self._env is not None and self._env is not inner:
            raise ValueError("the oracle serves one env at a time")
        self._env = inner

    def _plan(self, session: ListeningSession) -> None:
        """The session's best tracks before the artist discount, in order; the discount only
        lowers a value, so the scan in `recommend` can stop early."""
        assert self._env is not None
        self._scores = self._env.world.embeddings @ self._taste(session)
        self._order = dense_top_k(self._scores[None, :], CANDIDATES)[0].tolist()
        self._raw = {t: self._fraction(session, float(self._scores[t])) for t in self._order}
        self._session = session

    def _taste(self, session: ListeningSession) -> np.ndarray:
        """The vector the session's tracks are scored against: its hidden interest."""
        return session.embedding

    @staticmethod
    def _fraction(session: ListeningSession, score: float) -> float:
        p = session.params
        return sigmoid((score - p.consume_bias) * p.consume_sharpness)

    def recommend(self, observation: dict[str, int], reward: float, info: dict[str, Any]) -> int:
        assert self._env is not None, "attach(env) first"
        session = self._env.session
        assert session is not None, "the env is in a session when asked to recommend"
        if session is not self._session:
            self._plan(session)
        gamma = session.params.artist_discount_gamma
        artist = self._env.world.track_artist
        plays, heard, raw_of = session.artist_plays, session.heard, self._raw
        best, best_value = -1, -1.0
        if gamma <= 1.0:
            for track in self._order:
                raw = raw_of[track]
                if raw <= best_value:
                    return best
                if track in heard:
                    continue
                expected = raw * gamma ** plays.get(int(artist[track]), 0)
                if expected > best_value:
                    best, best_value = track, expected
        # the candidates ran out (or gamma > 1 rewards repeats): scan everything
        p = session.params
        with np.errstate(over="ignore"):
            value = 1.0 / (1.0 + np.exp(-(self._scores - p.consume_bias) * p.consume_sharpness))
        counts = np.zeros(int(artist.max()) + 1)
        for a, n in plays.items():
            counts[a] = n
        expected = value * gamma ** counts[artist]
        expected[list(heard)] = -1.0
        return int(np.argmax(expected))
