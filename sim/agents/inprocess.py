"""The `inprocess` agent: a botify recommender chain run directly, without HTTP, from a
botify config (the same chain, options and fallbacks that the service would run), for fast
offline evaluation."""

from __future__ import annotations

import operator
from typing import Any

from sim.agents.base import Agent
from sim.errors import SimError


class InprocessAgent(Agent):
    name = "inprocess"

    def __init__(
        self,
        config_path: str,
        arm: str | None,
        seed: int,
        n_tracks: int,
        **options: Any,
    ) -> None:
        """`options` go to botify's InProcessRecommender (an event log and its clock)."""
        try:
            from botify.inprocess import InProcessRecommender
        except ImportError as error:
            raise SimError(f"the inprocess agent needs botify.inprocess ({error})") from None
        self.config_path = config_path
        self.n_tracks = n_tracks
        try:
            self.recommender = InProcessRecommender.from_config(
                config_path, arm=arm, seed=seed, **options
            )
        except (ValueError, OSError) as error:  # botify's ConfigError is a ValueError
            message = str(error)
            if not message.startswith(str(config_path)):
                message = f"{config_path}: {message}"
            raise SimError(message) from None

    def recommend(self, observation: dict[str, int], reward: float, info: dict[str, Any]) -> int:
        answer = self.recommender.recommend_next(observation["user"], observation["track"], reward)
        try:
            track = -1 if isinstance(answer, bool) else operator.index(answer)
        except TypeError:
            track = -1
        if not 0 <= track < self.n_tracks:
            raise SimError(
                f"the recommender of {self.config_path} answered {answer!r} for user "
                f"{observation['user']}, not a track of the simulator's catalog "
                f"(0..{self.n_tracks - 1}); do the botify config and the sim config name one world?"
            )
        return track

    def end_session(self, observation: dict[str, int], reward: float, info: dict[str, Any]) -> None:
        self.recommender.end_session(observation["user"], observation["track"], reward)
