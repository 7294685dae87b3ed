"""The `dummy` agent: a uniformly random track, as the course's DummyRecommender."""

from __future__ import annotations

from typing import Any

from sim.agents.base import Agent, SessionCounter, mix


class DummyAgent(Agent):
    name = "dummy"

    def __init__(self, n_tracks: int, seed: int = 0) -> None:
        self.n_tracks = n_tracks
        self.seed = seed
        self._steps = SessionCounter()

    def recommend(self, observation: dict[str, int], reward: float, info: dict[str, Any]) -> int:
        user = observation["user"]
        step = self._steps.next(user)
        return mix(self.seed, user, observation["track"], step) % self.n_tracks

    def end_session(self, observation: dict[str, int], reward: float, info: dict[str, Any]) -> None:
        self._steps.end(observation["user"])
