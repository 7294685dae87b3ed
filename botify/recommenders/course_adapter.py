"""Course recommender classes, run unchanged in a botify chain.

A class written for the course's service takes its Redis databases and helpers in its
constructor, reads them (`self.track_redis.get(prev_track)`, `catalog.from_bytes(...)`,
`lrange("user:{user}:listens", 0, -1)`, `randomkey()`), draws with the global `random` module and
answers `recommend_next(user, prev_track, prev_track_time) -> int`. Named in config.json by its
import path, it is built here with objects that give it what the course's service gave it, from
botify's data:

  {"recommender": "my_course_recs.i2i:I2IRecommender", "course": {"i2i_redis": "items:i2i"}}

Constructor parameters are given by name:
- with "history" or "listen": the listen history. `lrange`/`llen` of `user:<id>:listens` give the
  user's listens as JSON bytes `{"track": int, "time": float}`, newest first, at most 10 (the
  course trims its list to 10), this request's own listen first, as the course records it before
  asking the recommender;
- with "artist": `get(artist name)` is the pickled list of that artist's track ids, in catalog
  order; `randomkey()` an artist's name;
- with "track": `get(track id)` is a pickled `botify.track.Track` (track, artist, title,
  recommendations: the list the catalog's line carries, else empty); `randomkey()` a random
  catalog track id, as bytes;
- with "catalog": a `botify.track.Catalog` (`from_bytes` unpickles track records and plain values
  only, `to_bytes` pickles);
- with "fallback" or "random": a recommender whose `recommend_next` passes the request to the
  chain's next link, which answers and is the link the event log names;
- any other parameter is mapped in the link's "course" object: to a list source of the config
  (`"items:<source>"`, `"users:<source>"`: `get(id)` is the pickled list, or None) or to one of the
  roles above (`"listens"`, `"artists"`, `"tracks"`, `"catalog"`, `"fallback"`); or given a value as
  a link option; or left at its default. Anything else is a ConfigError that names it.

Every database object has `get`, `exists`, `lrange`, `llen`, `randomkey` and `.connection` (itself:
the course passes flask_redis wrappers in some places and their connections in others). Reading a
list with `get`, or a value with `lrange`, raises as Redis would (WRONGTYPE).

Pickle: DESIGN.md forbids it in the shared cache, and nothing read from Redis is unpickled here.
botify keeps JSON and packed integers in Redis; the adapter pickles what a course class asks for
from those, in this process (botify.track.dumps), and `Catalog.from_bytes` refuses to build any
object but a track record or a plain value.

Reads: the user's history, the previous track's catalog list (for its Track), the previous
track's list in each mapped item source and the user's list in each mapped user source are
declared, so they come in the request's one round trip; any other read costs a round trip of its
own (none for list sources held in memory).

Not supported: writes (`set`, `lpush`, ...: a `ReadOnlyError`; botify loads the data with
`botify load` and keeps the history itself), other commands (KEYS, SCAN, pipelines), `randomkey`
of the history or of a list source, and the link options `ranked`, `no_repeat` and `explore` (the
class chooses by its own logic, so its events log no propensity). The history holds the listens of
/next and /last, as the course's.

Randomness: course classes draw with the global `random` module. `reseed(key)` seeds it, so a
seeded run (config `seed`) is reproducible as long as the class reads nothing from Redis in the
middle of its work (its declared reads come first; list sources held in memory cost no read):
a read lets the worker run another request, which reseeds the one global generator. botify's own
recommenders draw from per-request streams and have no such limit.
"""

from __future__ import annotations

import inspect
import json
import random
import re
from collections.abc import Callable
from typing import Any

import numpy as np

from botify.data import DataView, Read, history_key, items_key, users_key
from botify.dataset import CATALOG_SOURCE, Catalog
from botify.recommenders.base import Recommender
from botify.recommenders.course_i2i import COURSE_HISTORY
from botify.recommenders.genres import catalog_records
from botify.track import Catalog as CourseCatalog
from botify.track import Track, dumps

ROLES = ("listens", "artists", "tracks", "catalog", "fallback")
LIST_KINDS = ("items", "users")
UNDERSTOOD = (
    "a course class's constructor parameters are given by name: 'history' or 'listen' (the "
    "listen history), 'artist' (artists' tracks), 'track' (track records), 'catalog' (its "
    "from_bytes), 'fallback' or 'random' (the chain's next link); any other is mapped in the "
    'link\'s "course" object to "items:<source>" or "users:<source>" (e.g. "course": '
    '{"i2i_redis": "items:i2i"}) or to a role (' + ", ".join(ROLES) + "), given as a link "
    "option, or has a default (a plain class whose first parameter is 'data' gets botify's data "
    "view instead)"
)
_LISTENS_KEY = re.compile(r"user:(\d+):listens")


class CourseAdapterError(RuntimeError):
    """A course class asked for something the adapter does not give (a WRONGTYPE read, an
    unsupported command)."""


class ReadOnlyError(CourseAdapterError):
    """A course class tried to write to one of its databases."""


class PassToNextLink(Exception):
    """Raised by a course class's fallback: the adapter answers None, the chain's next link
    answers."""


def _parameters(cls: type) -> list[inspect.Parameter]:
    """The constructor's named parameters (without self, *args and **kwargs)."""
    named = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [
        parameter
        for parameter in inspect.signature(cls).parameters.values()
        if parameter.kind in (*named, inspect.Parameter.KEYWORD_ONLY)
    ]


def is_course_class(cls: type) -> bool:
    """A class for the course's service: not a botify Recommender, and its constructor's first
    parameter is not `data` (botify's data view)."""
    if issubclass(cls, Recommender):
        return False
    parameters = _parameters(cls)
    return bool(parameters) and parameters[0].name != "data"


def role_by_name(name: str) -> str | None:
    lowered = name.lower()
    if "history" in lowered or "listen" in lowered:
        return "listens"
    for word, role in (("artist", "artists"), ("track", "tracks"), ("catalog", "catalog")):
        if word in lowered:
            return role
    if "fallback" in lowered or "random" in lowered:
        return "fallback"
    return None


def _key(name: object) -> str:
    """A Redis key as redis-py sends it: text, bytes or a number."""
    if isinstance(name, bytes):
        return name.decode()
    if isinstance(name, str):
        return name
    if isinstance(name, int | float | np.integer) and not isinstance(name, bool):
        return repr(name) if isinstance(name, float) else str(int(name))
    raise TypeError(f"a Redis key must be text, bytes or a number, got {name!r}")


def _id(key: str) -> int | None:
    return int(key) if key.isascii() and key.isdigit() else None


def _lrange(values: list[bytes], start: int, end: int) -> list[bytes]:
    """Redis's LRANGE: both ends included, negative indexes from the end, out of range clamped."""
    size = len(values)
    start = max(size + start, 0) if start < 0 else start
    end = size + end if end < 0 else end
    return values[start : end + 1] if start <= end else []


class _CatalogNames:
    """A catalog version's records and its artists' names (artist number -> name, and back)."""

    def __init__(self, catalog: Catalog, records: list[str]):
        self.catalog = catalog
        self.records = records
        # Artists are numbered in order of first appearance: one record names each.
        _, firsts = np.unique(catalog.artists, return_index=True)
        self.names = [json.loads(records[position])["artist"] for position in firsts.tolist()]
        self.numbers = {name: number for number, name in enumerate(self.names)}


class CourseData:
    """botify's data as a course class's databases hold it; shared by one class's databases."""

    def __init__(self, data: DataView):
        self.data = data
        self._names: _CatalogNames | None = None

    def names(self) -> _CatalogNames:
        catalog = self.data.catalog
        if self._names is None or self._names.catalog is not catalog:
            self._names = _CatalogNames(catalog, catalog_records(self.data, "a course class"))
        return self._names

    def track(self, track: int) -> Track | None:
        names = self.names()
        position = names.catalog.index.get(track)
        if position is None:
            return None
        record = json.loads(names.records[position])
        listed = self.data.item_recommendations(CATALOG_SOURCE, track)
        return Track(
            track, record["artist"], record["title"], [] if listed is None else listed.tolist()
        )


class CourseRedis:
    """A read-only Redis database of the course's service, served from botify's data."""

    what = "a course database"

    def __init__(self, course: CourseData):
        self.course = course

    @property
    def connection(self) -> CourseRedis:
        return self

    def value(self, key: str) -> bytes | list[bytes] | None:
        """The key's value: a string (bytes), a list, or None when there is no such key."""
        raise NotImplementedError

    def _wrong_type(self, key: str, command: str) -> CourseAdapterError:
        return CourseAdapterError(
            f"WRONGTYPE {command} {key!r} of {self.what}: "
            "Operation against a key holding the wrong kind of value"
        )

    def get(self, name: object) -> bytes | None:
        key = _key(name)
        value = self.value(key)
        if isinstance(value, list):
            raise self._wrong_type(key, "GET")
        return value

    def exists(self, *names: object) -> int:
        return sum(self.value(_key(name)) is not None for name in names)

    def lrange(self, name: object, start: int, end: int) -> list[bytes]:
        key = _key(name)
        value = self.value(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self._wrong_type(key, "LRANGE")
        return _lrange(value, int(start), int(end))

    def llen(self, name: object) -> int:
        key = _key(name)
        value = self.value(key)
        if value is not None and not isinstance(value, list):
            raise self._wrong_type(key, "LLEN")
        return 0 if value is None else len(value)

    def randomkey(self) -> bytes | None:
        raise CourseAdapterError(f"randomkey() of {self.what} is not supported in botify")

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        raise AttributeError(
            f"{self.what} in botify has no {name!r}: a course class may read it with get, "
            "exists, lrange, llen, randomkey and .connection"
        )


def _refuses(command: str) -> Callable[..., Any]:
    def write(self: CourseRedis, *args: Any, **kwargs: Any) -> Any:
        raise ReadOnlyError(
            f"{command}() on {self.what}: botify's course databases are read-only (botify loads "
            "the data with `botify load` and keeps the listen history itself)"
        )

    return write


for _command in (
    "set setex setnx psetex mset msetnx getset getdel append incr incrby decr decrby delete "
    "unlink expire pexpire persist rename lpush rpush lpushx rpushx lpop rpop ltrim lset lrem "
    "linsert hset hmset hdel sadd srem zadd zrem flushdb flushall pipeline"
).split():
    setattr(CourseRedis, _command, _refuses(_command))


class ListenHistory(CourseRedis):
    what = "the listen history"

    def value(self, key: str) -> list[bytes] | None:
        match = _LISTENS_KEY.fullmatch(key)
        if match is None:
            return None
        listens = self.course.data.history(int(match.group(1)))[:COURSE_HISTORY]
        entries = [json.dumps({"track": track, "time": time}).encode() for track, time in listens]
        return entries or None


class TrackRecords(CourseRedis):
    what = "the track database"

    def value(self, key: str) -> bytes | None:
        track_id = _id(key)
        track = None if track_id is None else self.course.track(track_id)
        return None if track is None else dumps(track)

    def randomkey(self) -> bytes:
        ids = self.course.data.catalog.ids
        return str(int(ids[random.randrange(len(ids))])).encode()


class ArtistTracks(CourseRedis):
    what = "the artist database"

    def value(self, key: str) -> bytes | None:
        names = self.course.names()
        artist = names.numbers.get(key)
        if artist is None:
            return None
        return dumps(names.catalog.tracks_of_artist(artist).tolist())

    def randomkey(self) -> bytes:
        return random.choice(self.course.names().names).encode()


class ListSource(CourseRedis):
    """A list source of the config: `get(id)` is the pickled list of that track or user."""

    def __init__(self, course: CourseData, kind: str, source: str):
        super().__init__(course)
        self.kind = kind
        self.source = source
        self.what = f"the list source {kind}:{source}"

    def value(self, key: str) -> bytes | None:
        key_id = _id(key)
        if key_id is None:
            return None
        data = self.course.data
        if self.kind == "items":
            listed = data.item_recommendations(self.source, key_id)
        else:
            listed = data.user_recommendations(self.source, key_id)
        return None if listed is None else dumps(listed.tolist())


class NextLink:
    """A course class's fallback recommender: the chain's next link answers instead."""

    def recommend_next(self, user: int, prev_track: int, prev_track_time: float) -> int:
        raise PassToNextLink


def _check_mapping(course: object) -> dict[str, str]:
    if course is None:
        return {}
    if not isinstance(course, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in course.items()
    ):
        raise ValueError(
            "'course' must map constructor parameters to \"items:<source>\", "
            '"users:<source>" or a role (' + ", ".join(ROLES) + ")"
        )
    for parameter, given in course.items():
        kind, _, source = given.partition(":")
        if given not in ROLES and not (kind in LIST_KINDS and source):
            raise ValueError(
                f"'course': {parameter!r} maps to {given!r}; expected \"items:<source>\", "
                '"users:<source>" or one of ' + ", ".join(ROLES)
            )
    return course


def _not_understood(cls: type, name: str) -> str:
    if name.endswith("redis"):
        return (
            f"{cls.__qualname__}'s parameter {name!r}: map it to a list source in the link's "
            f'"course" object, e.g. "course": {{"{name}": "items:<source>"}}; {UNDERSTOOD}'
        )
    return f"{cls.__qualname__}'s parameter {name!r} is not understood: {UNDERSTOOD}"


def _make(course: CourseData, given: str) -> object:
    """The object for a role or a list source ("items:<source>", "users:<source>")."""
    if given == "listens":
        return ListenHistory(course)
    if given == "artists":
        return ArtistTracks(course)
    if given == "tracks":
        return TrackRecords(course)
    if given == "catalog":
        return CourseCatalog()
    if given == "fallback":
        return NextLink()
    kind, _, source = given.partition(":")
    return ListSource(course, kind, source)


class CourseAdapter(Recommender):
    """A chain link that runs a course class (see the module): built from the class, the link's
    "course" mapping and its other options (values for constructor parameters)."""

    def __init__(
        self,
        data: DataView,
        cls: type,
        course: object = None,
        options: dict | None = None,
        seed: int | str | None = None,
    ):
        super().__init__(data, seed=seed)
        if issubclass(cls, Recommender):
            raise ValueError("'course' is for a class written for the course's service")
        mapping = _check_mapping(course)
        options = dict(options or {})
        parameters = _parameters(cls)
        names = {parameter.name for parameter in parameters}
        for mapped in mapping:
            if mapped not in names:
                raise ValueError(
                    f"'course' maps {mapped!r}, which {cls.__qualname__}'s constructor does "
                    f"not take (it takes {', '.join(sorted(names)) or 'nothing'})"
                )
        self.course = CourseData(data)
        self.given: dict[str, str] = {}  # parameter -> what it was given, for describe()
        self._objects: dict[str, object] = {}  # role or "kind:source" -> its object
        positional: list[object] = []
        keywords: dict[str, object] = {}
        for parameter in parameters:
            name = parameter.name
            if name in options:
                self.given[name], value = "option", options.pop(name)
            else:
                given = mapping.get(name) or role_by_name(name)
                if given is None and parameter.default is not inspect.Parameter.empty:
                    continue
                if given is None:
                    raise ValueError(_not_understood(cls, name))
                self.given[name], value = given, self._object(given)
            if parameter.kind is inspect.Parameter.POSITIONAL_ONLY:
                positional.append(value)
            else:
                keywords[name] = value
        if options:
            raise ValueError(
                f"option(s) {', '.join(sorted(options))}: {cls.__qualname__}'s constructor takes "
                "no such parameter (a course class takes its databases; ranked, no_repeat and "
                "explore do not apply to it)"
            )
        self.cls = cls
        if "listens" in self._objects:
            self.state = self.state | {"history"}
        self.instance: Any = cls(*positional, **keywords)

    def _object(self, given: str) -> object:
        """What a parameter is given: one object per role or list source, shared."""
        made = self._objects.get(given)
        if made is None:
            made = _make(self.course, given)
            self._objects[given] = made
        return made

    def reads(self, user: int, prev_track: int) -> list[Read]:
        reads = []
        if "listens" in self._objects:
            reads.append(history_key(user))
        if "tracks" in self._objects:
            reads.append(items_key(CATALOG_SOURCE, prev_track))
        for made in self._objects.values():
            if isinstance(made, ListSource):
                if made.kind == "items":
                    reads.append(items_key(made.source, prev_track))
                else:
                    reads.append(users_key(made.source, user))
        return reads

    def recommend_next(self, user: int, prev_track: int, prev_track_time: float) -> int | None:
        try:
            return self.instance.recommend_next(user, prev_track, prev_track_time)
        except PassToNextLink:
            return None

    def reseed(self, key: str) -> None:
        """Seed the global `random` module that course classes draw with (and this link's own
        generator)."""
        super().reseed(key)
        random.seed(key)

    def describe(self) -> dict:
        name = f"{self.cls.__module__}:{self.cls.__qualname__}"
        return {"recommender": name, "course": dict(self.given)}
