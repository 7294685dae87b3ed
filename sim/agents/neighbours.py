"""The `neighbours` agent: the oracle with the session's taste replaced by its first track. It
plays, at each step, the unplayed track with the largest expected listened fraction if the
session wanted what is like its first track: the tracks nearest to it by the hidden embeddings,
discounted for the artist's plays as listeners tire. That is what a perfect item-to-item model
could know (which tracks are alike, and how fatigue works, both learnable from logs) and not
which of the user's interests the session follows: the ceiling of item-to-item learning, where
the oracle's is the ceiling of all."""

from __future__ import annotations

import numpy as np

from sim.agents.oracle import OracleAgent
from sim.user import ListeningSession


class NeighboursAgent(OracleAgent):
    name = "neighbours"

    def _taste(self, session: ListeningSession) -> np.ndarray:
        assert self._env is not None
        return self._env.world.embeddings[session.played[0]]
