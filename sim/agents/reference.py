"""Simple baselines that need only the public catalog and chart, for calibrating the world
when no botify recommender is at hand: TopPop and StickyArtist as the course defines them."""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.agents.base import Agent, SessionCounter, mix
from sim.world import World


class TopPopAgent(Agent):
    """A random track among the chart's top `top`."""

    name = "toppop"

    def __init__(self, world: World, seed: int = 0, top: int = 100) -> None:
        self.top = world.chart[:top]
        self.seed = seed
        self._steps = SessionCounter()

    def recommend(self, observation: dict[str, int], reward: float, info: dict[str, Any]) -> int:
        user = observation["user"]
        pick = mix(self.seed, user, observation["track"], self._steps.next(user))
        return self.top[pick % len(self.top)]

    def end_session(self, observation: dict[str, int], reward: float, info: dict[str, Any]) -> None:
        self._steps.end(observation["user"])


class StickyArtistAgent(Agent):
    """A random track by the artist of the track playing now."""

    name = "sticky"

    def __init__(self, world: World, seed: int = 0) -> None:
        artist = world.track_artist
        order = np.argsort(artist, kind="stable")
        bounds = np.searchsorted(artist[order], np.arange(artist.max() + 2))
        self._track_artist = artist
        self._by_artist = [
            order[a:b].tolist() for a, b in zip(bounds[:-1], bounds[1:], strict=True)
        ]
        self.seed = seed
        self._steps = SessionCounter()

    def recommend(self, observation: dict[str, int], reward: float, info: dict[str, Any]) -> int:
        user, track = observation["user"], observation["track"]
        tracks = self._by_artist[int(self._track_artist[track])]
        return tracks[mix(self.seed, user, track, self._steps.next(user)) % len(tracks)]

    def end_session(self, observation: dict[str, int], reward: float, info: dict[str, Any]) -> None:
        self._steps.end(observation["user"])
