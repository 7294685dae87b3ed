"""A recommender chain: links tried in order until one answers; the last link is always Random,
so a chain always answers with a track of the catalog.

A link in config.json is a recommender's name (or the import path of your own class) with its
options, and the link's own options:
  {"recommender": "contextual", "source": "i2i", "ranked": true, "skip_below": 0.1}
- "name": what the event log records as the answering link (default: the recommender's name);
- "skip_below" / "skip_at_or_below": pass straight to the next link when the previous track was
  listened to less than (or at most) this fraction;
- "explore": {"probability": p, "from": "genre" | "top" | "catalog"}: with probability p a random
  track of that set instead (botify.recommenders.explore);
- "course": {"<constructor parameter>": "items:<source>" | ...}: a class written for the course's
  service, run unchanged (botify.recommenders.course_adapter; a class that is no botify
  Recommender and whose first parameter is not `data` is run so without the key too).
Each answer carries its propensity (the probability the track was chosen with), or None for a
recommender that does not state it.

With a `request_seed` (config.json's `seed`), every link's random picks for a request are seeded
from the seed, the user and the user's listening history (this request's listen included): a
function of what the user did, so two runs that send the same traffic get the same answers
whatever the order in which requests reach the workers. The chain then keeps and reads the
history (one more read in the request's round trip).
"""

from __future__ import annotations

import importlib
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import redis

from botify.config import ConfigError
from botify.data import DataView, Read, history_key
from botify.recommenders.base import Recommender, request_streams
from botify.recommenders.builtin import BUILTIN as BOTIFYS_OWN
from botify.recommenders.builtin import Random
from botify.recommenders.course_adapter import CourseAdapter, is_course_class
from botify.recommenders.course_i2i import CourseI2I
from botify.recommenders.explore import Exploring

log = logging.getLogger(__name__)
LOG_EVERY_SECONDS = 10.0  # a failing link's log lines after its first, at most

# Every built-in recommender by its config name: botify's own and the course's control.
BUILTIN: dict[str, type[Recommender]] = {**BOTIFYS_OWN, "course_i2i": CourseI2I}

LINK_KEYS = ("recommender", "name", "skip_below", "skip_at_or_below", "explore", "course")


def _normalise(name: str) -> str:
    return name.replace("_", "").replace("-", "").lower()


_BY_NORMAL_NAME = {_normalise(name): cls for name, cls in BUILTIN.items()}


def recommender_class(name: str) -> type[Any]:
    """A built-in recommender by name (any case, e.g. "sticky_artist" or "StickyArtist"), or a
    class by import path ("package.module:Class" or "package.module.Class")."""
    builtin = _BY_NORMAL_NAME.get(_normalise(name))
    if builtin is not None:
        return builtin
    module_name, _, class_name = name.rpartition(":") if ":" in name else name.rpartition(".")
    if not module_name:
        raise ValueError(
            f"unknown recommender {name!r} (built-in: {', '.join(BUILTIN)}; or an "
            "import path such as 'my_package.module:MyRecommender')"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ValueError(
            f"cannot import {module_name!r} for recommender {name!r}: {error}"
        ) from None
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type) or not callable(getattr(cls, "recommend_next", None)):
        raise ValueError(f"{name!r} is not a class with a recommend_next method")
    return cls


@dataclass
class Link:
    name: str
    recommender: Recommender
    skip_below: float | None = None
    skip_at_or_below: float | None = None

    def skips(self, prev_track_time: float) -> bool:
        return (self.skip_below is not None and prev_track_time < self.skip_below) or (
            self.skip_at_or_below is not None and prev_track_time <= self.skip_at_or_below
        )

    def describe(self) -> dict:
        described = getattr(self.recommender, "describe", None)
        info = described() if described else {"recommender": type(self.recommender).__name__}
        info = {"name": self.name, **info}
        if self.skip_below is not None:
            info["skip_below"] = self.skip_below
        if self.skip_at_or_below is not None:
            info["skip_at_or_below"] = self.skip_at_or_below
        return info


class Answer(NamedTuple):
    track: int
    link: str  # the link that answered
    failed: tuple[str, ...]  # the links before it that raised or answered no catalog track
    propensity: float | None = None  # the probability the track was chosen with, if known


@dataclass
class Chain:
    links: list[Link]
    request_seed: int | None = None
    state: frozenset[str] = field(init=False)
    # Failures by link name in this process (raised, or answered something not a track of the
    # catalog), for /healthz; each event also names the links that failed for it.
    failures: Counter[str] = field(init=False, default_factory=Counter)
    _logged_at: dict[str, float] = field(init=False, default_factory=dict, repr=False)

    def __post_init__(self):
        self.state = frozenset().union(
            *(getattr(link.recommender, "state", ()) for link in self.links)
        )
        if self.request_seed is not None:
            self.state = self.state | {"history"}

    def reads(self, user: int, prev_track: int, prev_track_time: float) -> list[Read]:
        """Everything the links that may run will read, without repeats."""
        keys: dict[Read, None] = {}
        if self.request_seed is not None:
            keys[history_key(user)] = None
        for link in self.links:
            if link.skips(prev_track_time):
                continue
            reads = getattr(link.recommender, "reads", None)
            if reads is not None:
                keys.update(dict.fromkeys(reads(user, prev_track)))
        return list(keys)

    def recommend(self, user: int, prev_track: int, prev_track_time: float) -> tuple[int, str]:
        """The first link's answer that is a track of the catalog, and that link's name."""
        answer = self.answer(user, prev_track, prev_track_time)
        return answer.track, answer.link

    def answer(self, user: int, prev_track: int, prev_track_time: float) -> Answer:
        """The first link's answer that is a track of the catalog, which link gave it, and the
        links before it that failed. A link that answers None has nothing to say (no list for
        this user): that is no failure."""
        if self.request_seed is None:
            return self._answer(user, prev_track, prev_track_time)
        with request_streams():
            data = self.links[-1].recommender.data
            self._reseed(f"{self.request_seed}:{user}:{data.history(user)!r}")
            return self._answer(user, prev_track, prev_track_time)

    def _answer(self, user: int, prev_track: int, prev_track_time: float) -> Answer:
        catalog = self.links[-1].recommender.data.catalog
        failed: list[str] = []
        for link in self.links:
            if link.skips(prev_track_time):
                continue
            try:
                choice = _choose(link.recommender, user, prev_track, prev_track_time)
            except redis.RedisError:
                raise  # the service answers 503; a fallback would hide the outage
            except Exception as error:
                self._failed(link, failed, f"raised {type(error).__name__}: {error}", error)
                continue
            if choice is None:
                continue
            track, propensity = choice
            try:
                track = int(track)
            except (TypeError, ValueError):
                self._failed(link, failed, f"answered {track!r}, not a track id")
                continue
            if track in catalog:
                return Answer(track, link.name, tuple(failed), propensity)
            self._failed(link, failed, f"answered track {track!r}, which is not in the catalog")
        raise RuntimeError("the chain's last link (random) gave no track: is the catalog empty?")

    def _reseed(self, key: str) -> None:
        for i, link in enumerate(self.links):
            reseed = getattr(link.recommender, "reseed", None)
            if reseed is not None:
                reseed(f"{key}:{i}")

    def _failed(
        self, link: Link, failed: list[str], what: str, error: Exception | None = None
    ) -> None:
        """Count the failure, and say it in the server log: the first one of a link in full
        (with its traceback), then at most one line per LOG_EVERY_SECONDS with the count, since
        a broken link fails on every request."""
        failed.append(link.name)
        self.failures[link.name] += 1
        now = time.monotonic()
        if self.failures[link.name] == 1:
            log.error("recommender %r %s; asking the next link", link.name, what, exc_info=error)
            self._logged_at[link.name] = now
        elif now - self._logged_at.get(link.name, 0.0) >= LOG_EVERY_SECONDS:
            log.error(
                "recommender %r %s (%d failures in this process so far)",
                link.name,
                what,
                self.failures[link.name],
            )
            self._logged_at[link.name] = now

    def describe(self) -> list[dict]:
        return [link.describe() for link in self.links]


def _choose(
    recommender: Any, user: int, prev_track: int, prev_track_time: float
) -> tuple[Any, float | None] | None:
    """(track, propensity), or None: a user's class with only recommend_next states none."""
    choose = getattr(recommender, "choose", None)
    if choose is not None:
        return choose(user, prev_track, prev_track_time)
    track = recommender.recommend_next(user, prev_track, prev_track_time)
    return None if track is None else (track, None)


def _threshold(where: str, key: str, value: object) -> float | None:
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= 1:
        raise ConfigError(f"{where}: '{key}' must be a listened fraction in [0, 1], got {value!r}")
    return float(value)


def build_link(spec: object, data: DataView, where: str, seed: int | None = None) -> Link:
    if isinstance(spec, str):
        spec = {"recommender": spec}
    if not isinstance(spec, dict) or not isinstance(spec.get("recommender"), str):
        raise ConfigError(
            f"{where}: a link must be a recommender name or an object with 'recommender'"
        )
    options = {key: value for key, value in spec.items() if key not in LINK_KEYS}
    try:
        cls = recommender_class(spec["recommender"])
        if "course" in spec or is_course_class(cls):
            recommender: Recommender = CourseAdapter(data, cls, spec.get("course"), options, seed)
        elif issubclass(cls, Recommender):
            recommender = cls(data, seed=seed, **options)
        else:
            recommender = cls(data, **options)
        if "explore" in spec:
            explore_seed = None if seed is None else f"{seed}:explore"  # not the link's stream
            recommender = Exploring(recommender, spec["explore"], explore_seed)
    except TypeError as error:
        raise ConfigError(f"{where}: {spec['recommender']}: bad options ({error})") from None
    except ValueError as error:
        raise ConfigError(f"{where}: {spec['recommender']}: {error}") from None
    name = spec.get("name", spec["recommender"])
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{where}: 'name' must be a non-empty string")
    return Link(
        name,
        recommender,
        _threshold(where, "skip_below", spec.get("skip_below")),
        _threshold(where, "skip_at_or_below", spec.get("skip_at_or_below")),
    )


def build_chain(
    specs: object,
    data: DataView,
    where: str,
    seed: int | None = None,
    request_seed: int | None = None,
) -> Chain:
    """A chain from its config: a list of links. Random is appended unless it ends the chain.
    `seed` seeds each link's random stream once (in-process runs); `request_seed` seeds every
    request's picks afresh (the module's docstring)."""
    if not isinstance(specs, list) or not specs:
        raise ConfigError(f"{where}: a chain must be a non-empty list of links")
    links = [
        build_link(spec, data, f"{where}[{i}]", None if seed is None else seed * 1000 + i)
        for i, spec in enumerate(specs)
    ]
    last = links[-1]
    plain_random = type(last.recommender) is Random and not last.recommender.no_repeat
    if not plain_random or last.skip_below is not None or last.skip_at_or_below is not None:
        links.append(Link("random", Random(data, seed=None if seed is None else seed * 1000 + 999)))
    return Chain(links, request_seed)
