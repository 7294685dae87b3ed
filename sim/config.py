"""The simulator's YAML config: where the world is, the listeners' default parameters (a
user's own values in the world override them), and the options of the remote and in-process
agents. Every key is checked: an unknown key, a wrong type or a value out of range is an error
naming the file and the key. Relative paths are relative to the config file's directory (as in
botify's config.json)."""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sim.errors import SimError
from sim.user import UserParams
from sim.worldfiles import WorldPaths

DEFAULT_PATH = Path(__file__).with_name("config.yaml")


@dataclass(frozen=True)
class WorldSection:
    # the directory written by `botify world --out DIR`; each file may be named on its own
    # instead (a course-made world: tracks.json, embeddings.npy, users.json)
    dir: str | None = None
    tracks: str | None = None
    top_tracks: str | None = None
    embeddings: str | None = None
    users: str | None = None

    def paths(self) -> WorldPaths:
        base = WorldPaths.in_dir(self.dir) if self.dir is not None else None
        chosen = {}
        for name in ("tracks", "top_tracks", "embeddings", "users"):
            value = getattr(self, name)
            chosen[name] = Path(value) if value is not None else getattr(base, name, None)
        return WorldPaths(
            manifest=base.manifest if base else None,
            neighbours=base.neighbours if base else None,
            **chosen,
        )


@dataclass(frozen=True)
class UserDefaults(UserParams):
    """The listeners' parameters where a user's own values in the world's users file say
    nothing (the course's unless the config says otherwise), and the session cap."""

    # a safety cap (gymnasium's truncation); null for the course's unbounded sessions
    max_session_steps: int | None = None


@dataclass(frozen=True)
class RemoteSection:
    url: str = "http://127.0.0.1:5001"
    # sessions in flight at once, each on its own keep-alive connection
    sessions_in_flight: int = 64
    # requests in flight: "adaptive" (a limit that follows the service's latency: sim/limit.py)
    # or "fixed" (one per session in flight, however long the service's queue grows)
    in_flight_limit: str = "adaptive"
    # the adaptive limit backs off when latency passes this many times the lowest seen
    latency_tolerance: float = 3.0
    timeout: float = 10.0
    # attempts after a connection error, waiting backoff, 2 x backoff, ... (at most 2 s)
    retries: int = 6
    backoff: float = 0.05
    # bad answers (non-200, garbage, a track outside the catalog) before the run stops
    max_errors: int = 20


@dataclass(frozen=True)
class InprocessSection:
    # a botify config.json whose recommender chain runs in-process, without HTTP
    config: str = "config.json"
    arm: str | None = None


@dataclass(frozen=True)
class SimConfig:
    source: str
    world: WorldSection
    user: UserDefaults = field(default_factory=UserDefaults)
    remote: RemoteSection = field(default_factory=RemoteSection)
    inprocess: InprocessSection = field(default_factory=InprocessSection)


SECTIONS = {
    "world": WorldSection,
    "user": UserDefaults,
    "remote": RemoteSection,
    "inprocess": InprocessSection,
}

# (key, check, what the value must be)
RANGES: dict[str, tuple[typing.Callable[[Any], bool], str]] = {
    "user.interest_neighbours": (lambda v: v >= 1, "at least 1"),
    "user.consume_sharpness": (lambda v: v >= 0, "non-negative"),
    "user.session_budget": (lambda v: v >= 1, "at least 1"),
    "user.artist_discount_gamma": (lambda v: v > 0, "positive"),
    "user.max_session_steps": (lambda v: v is None or v >= 1, "at least 1 or null"),
    "remote.url": (lambda v: v.startswith("http://"), "an http:// URL"),
    "remote.sessions_in_flight": (lambda v: v >= 1, "at least 1"),
    "remote.in_flight_limit": (lambda v: v in ("adaptive", "fixed"), "adaptive or fixed"),
    "remote.latency_tolerance": (lambda v: v > 1, "above 1"),
    "remote.timeout": (lambda v: v > 0, "positive"),
    "remote.retries": (lambda v: v >= 0, "non-negative"),
    "remote.backoff": (lambda v: v >= 0, "non-negative"),
    "remote.max_errors": (lambda v: v >= 1, "at least 1"),
}


def _allowed_types(annotation: Any) -> tuple[type, ...]:
    """The runtime types a field accepts: int also where float is expected, never bool."""
    if isinstance(annotation, types.UnionType):
        options = typing.get_args(annotation)
    else:
        options = (annotation,)
    allowed: list[type] = []
    for option in options:
        allowed.append(type(None) if option is None else option)
        if option is float:
            allowed.append(int)
    return tuple(allowed)


def _type_name(allowed: tuple[type, ...]) -> str:
    names = {str: "a string", int: "an integer", float: "a number", type(None): "null"}
    return " or ".join(
        dict.fromkeys(names[t] for t in allowed if not (t is int and float in allowed))
    )


def _section(source: str, name: str, cls: type, raw: Any) -> Any:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise SimError(f"{source}: {name} must be a mapping of keys to values")
    hints = typing.get_type_hints(cls)
    values = {}
    for key, value in raw.items():
        if key not in hints:
            known = ", ".join(hints)
            raise SimError(f"{source}: unknown key {name}.{key} (known: {known})")
        allowed = _allowed_types(hints[key])
        wrong_type = isinstance(value, bool) or not isinstance(value, allowed)
        if wrong_type or (isinstance(value, float) and not math.isfinite(value)):
            raise SimError(f"{source}: {name}.{key} must be {_type_name(allowed)}, not {value!r}")
        check = RANGES.get(f"{name}.{key}")
        if check and not check[0](value):
            raise SimError(f"{source}: {name}.{key} must be {check[1]}, not {value!r}")
        values[key] = float(value) if float in allowed and isinstance(value, int) else value
    return cls(**values)


def _resolve(path: str, base: Path | None) -> str:
    return path if base is None else str(base / Path(path).expanduser())


def parse_config(raw: Any, source: str, base: Path | None = None) -> SimConfig:
    """`base`: the directory that relative paths are relative to (the config file's)."""
    if not isinstance(raw, dict):
        raise SimError(f"{source}: expected a mapping of sections ({', '.join(SECTIONS)})")
    for name in raw:
        if name not in SECTIONS:
            raise SimError(f"{source}: unknown section {name!r} (known: {', '.join(SECTIONS)})")
    sections = {name: _section(source, name, cls, raw.get(name)) for name, cls in SECTIONS.items()}
    world: WorldSection = sections["world"]
    if world.dir is None and None in (world.tracks, world.embeddings, world.users):
        raise SimError(
            f"{source}: world.dir is missing (the directory written by botify world), "
            "or name world.tracks, world.embeddings and world.users each"
        )
    named = {key: value for key, value in dataclasses.asdict(world).items() if value is not None}
    sections["world"] = dataclasses.replace(
        world, **{key: _resolve(value, base) for key, value in named.items()}
    )
    inprocess: InprocessSection = sections["inprocess"]
    sections["inprocess"] = dataclasses.replace(inprocess, config=_resolve(inprocess.config, base))
    return SimConfig(source=source, **sections)


def load_config(path: str | Path) -> SimConfig:
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SimError(f"{source}: no such config file") from None
    except OSError as error:
        raise SimError(f"{source}: cannot read ({error.strerror})") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        problem = getattr(error, "problem", None) or "invalid YAML"
        raise SimError(f"{source}: not valid YAML{where}: {problem}") from None
    return parse_config(raw, source, Path(path).parent)


def with_overrides(config: SimConfig, overrides: dict[str, Any]) -> SimConfig:
    """Command-line values ("section.key": value, None meaning unset) over the file's."""
    sections: dict[str, Any] = {}
    for dotted, value in overrides.items():
        if value is None:
            continue
        name, key = dotted.split(".")
        check = RANGES.get(dotted)
        if check and not check[0](value):
            raise SimError(f"--{key.replace('_', '-')} must be {check[1]}, not {value!r}")
        sections.setdefault(name, {})[key] = value
    changes = {
        name: dataclasses.replace(getattr(config, name), **values)
        for name, values in sections.items()
    }
    return dataclasses.replace(config, **changes)
