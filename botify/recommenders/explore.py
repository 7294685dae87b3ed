"""Exploration: a link option that, with a stated probability, answers a uniformly random track
of a stated candidate set instead of the link's own choice, and logs the mixture's propensity.

  {"recommender": "history_i2i", "source": "i2i", "ranked": true,
   "explore": {"probability": 0.1, "from": "genre"}}

"from": "genre" (tracks of other artists of the previous track's genre: the catalog's `genre`
field), "top" (the top chart's first `top_n`, default 100) or "catalog". Exploring traffic is
what lets the logs show which other artists a listener enjoys; a log with propensities can then
evaluate other chains off-policy. When the link itself has nothing to say, it does not explore
either: the chain's next link answers, so that every action of the chain without exploration
keeps a logged probability of at least 1 - p (what off-policy estimates of it need).
"""

from __future__ import annotations

from botify.data import Read
from botify.recommenders.base import Recommender, states_propensities
from botify.recommenders.draws import Draw, Mixture, Uniform
from botify.recommenders.genres import Genres

SOURCES = ("genre", "top", "catalog")


class Exploring(Recommender):
    def __init__(self, inner: Recommender, spec: object, seed: int | str | None = None):
        if not isinstance(spec, dict):
            raise ValueError("option 'explore' must be an object such as {'probability': 0.1}")
        unknown = set(spec) - {"probability", "from", "top_n"}
        if unknown:
            raise ValueError(f"option 'explore': unknown key(s) {sorted(unknown)}")
        probability = spec.get("probability")
        if not isinstance(probability, int | float) or isinstance(probability, bool):
            raise ValueError(f"explore 'probability' must be a number, got {probability!r}")
        if not 0 < probability <= 1:
            raise ValueError(f"explore 'probability' must be in (0, 1], got {probability!r}")
        source = spec.get("from", "genre")
        if source not in SOURCES:
            raise ValueError(f"explore 'from' must be one of {SOURCES}, got {source!r}")
        top_n = spec.get("top_n", 100)
        if not isinstance(top_n, int) or isinstance(top_n, bool) or top_n < 1:
            raise ValueError(f"explore 'top_n' must be a positive integer, got {top_n!r}")
        if not states_propensities(inner):
            raise ValueError(
                "explore needs a recommender that states its propensities (a built-in, or a "
                "Recommender subclass that overrides candidates or draw, not recommend_next)"
            )
        super().__init__(inner.data, no_repeat=inner.no_repeat, seed=seed)
        self.inner = inner
        self.state = self.state | inner.state
        self.probability, self.source, self.top_n = float(probability), source, top_n
        self._genres = Genres(inner.data, "explore from 'genre'")

    def reads(self, user: int, prev_track: int) -> list[Read]:
        return [*super().reads(user, prev_track), *self.inner.reads(user, prev_track)]

    def reseed(self, key: str) -> None:
        super().reseed(key)
        self.inner.reseed(f"{key}:inner")

    def draw(self, user: int, prev_track: int, prev_track_time: float) -> Draw | None:
        base = self.inner.draw(user, prev_track, prev_track_time)
        if base is None:
            return None  # the chain's next link answers, as without exploration
        explore = self._explore(user, prev_track)
        return base if explore.left == 0 else Mixture(self.probability, explore, base)

    def _explore(self, user: int, prev_track: int) -> Uniform:
        catalog, excluded = self.data.catalog, self.excluded(user, prev_track)
        if self.source == "catalog":
            return Uniform(catalog.ids, excluded, catalog.__contains__)
        if self.source == "top":
            return Uniform(self.data.top_tracks[: self.top_n], excluded)
        _, genres = self._genres.numbers()
        position = catalog.index[prev_track]
        mates = (genres == genres[position]) & (catalog.artists != catalog.artists[position])
        return Uniform(catalog.ids[mates], excluded)

    def describe(self) -> dict:
        explore = {"probability": self.probability, "from": self.source}
        if self.source == "top":
            explore["top_n"] = self.top_n
        return {**self.inner.describe(), "explore": explore}
