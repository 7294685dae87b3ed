"""The service's configuration: `config.json`, overridable key by key from the environment.

Any key can be overridden by an environment variable `BOTIFY_<KEY>`; nested keys are joined by a
double underscore (`BOTIFY_DATA__CATALOG=...`). The value is read as JSON when it parses as JSON
(numbers, null, objects), else as a plain string, as container settings expect.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from botify.lognames import check_live_name

ENV_PREFIX = "BOTIFY_"

DEFAULTS: dict[str, Any] = {
    "redis_url": None,  # null: start an embedded Redis at embedded_redis_port
    "embedded_redis_port": 6390,
    # The embedded Redis's memory bound (0: none); only per-user state is evicted at the bound.
    "embedded_redis_maxmemory_mb": 1024,
    "namespace": "botify",
    "data": {
        "catalog": "data/tracks.json",
        "top_tracks": None,
        "user_recommendations": {},
        "item_recommendations": {},
    },
    "log_dir": "log",
    # The live log file's name in log_dir: events.jsonl, or the course's data.json (its scripts
    # and notebooks glob DIR/*/data.json).
    "log_file": "events.jsonl",
    "log_max_bytes": 100 * 1024 * 1024,
    "log_backups": 20,
    # A batch the log could not write is tried again for this long (and this many events held)
    # before its events are counted as lost.
    "log_retry_seconds": 30.0,
    "log_retry_events": 100_000,
    "session_ttl_seconds": 3600,
    "history_length": 20,
    "history_ttl_seconds": 7 * 24 * 3600,
    "max_body_bytes": 4096,
    # A request's line and headers must arrive within this (from the connection's start, or a
    # kept-alive connection's next first byte): a slower client gets a 408 and is closed.
    # 0: no bound. botify serve's workers (botify.workers) apply it.
    "header_timeout_seconds": 5.0,
    "redis_timeout_seconds": 0.5,
    # A worker this far behind (botify.overload) answers new requests 503 "overloaded" at once.
    # 0: never shed.
    "overload_lag_seconds": 2.0,
    "swap_grace_seconds": 2.0,
    # List sources up to this size are held whole in each process's memory (no round trip);
    # larger ones are read list by list from Redis.
    "local_sources_max_mb": 256,
    # How stale a process's idea of the live data version may be when a request reads nothing
    # else from Redis (the loader keeps a replaced version for swap_grace_seconds).
    "version_check_seconds": 0.1,
    "routing_experiment": None,
    "experiments": [],
    # An integer makes every request's random picks a function of it, the user and their
    # listening history (botify.recommenders.chain), so two runs of the same traffic get the same
    # answers; null: picks from each process's own random stream.
    "seed": None,
}


class ConfigError(ValueError):
    """A configuration that cannot be used; the message names the file and the key."""


@dataclass
class Config:
    values: dict[str, Any]
    source: Path | None = None
    base_dir: Path = field(default_factory=Path.cwd)

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def path(self, value: str) -> Path:
        """A data path from the config, relative to the config file's folder."""
        path = Path(value)
        return path if path.is_absolute() else self.base_dir / path

    def with_overrides(self, **overrides: Any) -> Config:
        return Config({**self.values, **overrides}, self.source, self.base_dir)


def _merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _parse_env_value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def env_overrides(environ: dict[str, str]) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or name == ENV_PREFIX:
            continue
        path = [part.lower() for part in name[len(ENV_PREFIX) :].split("__")]
        node = overrides
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = _parse_env_value(raw)
    return overrides


def load_config(
    path: str | os.PathLike | None = None, environ: dict[str, str] | None = None
) -> Config:
    """Read a config file (or the defaults), apply BOTIFY_* overrides, check it."""
    values: dict[str, Any] = {}
    source = None
    base_dir = Path.cwd()
    if path is not None:
        source = Path(path)
        try:
            values = json.loads(source.read_text())
        except FileNotFoundError:
            raise ConfigError(f"{source}: no such config file") from None
        except json.JSONDecodeError as error:
            raise ConfigError(f"{source}: not valid JSON: {error}") from None
        if not isinstance(values, dict):
            raise ConfigError(f"{source}: must hold a JSON object")
        base_dir = source.resolve().parent
    merged = _merge(DEFAULTS, values)
    merged = _merge(merged, env_overrides(dict(os.environ if environ is None else environ)))
    config = Config(merged, source, base_dir)
    check(config)
    return config


def _where(config: Config, key: str) -> str:
    return f"{config.source or 'config'}: {key}"


def check(config: Config) -> None:
    """Validate the service-level keys; experiments are checked where they are built."""
    unknown = sorted(set(config.values) - set(DEFAULTS))
    if unknown:
        raise ConfigError(
            f"{_where(config, unknown[0])}: unknown key (known: {', '.join(DEFAULTS)})"
        )
    url = config["redis_url"]
    if url is not None and (not isinstance(url, str) or "://" not in url):
        raise ConfigError(
            f"{_where(config, 'redis_url')}: must be a redis:// or redis+cluster:// URL, or null"
        )
    if url is not None and is_cluster_url(url):
        try:
            parse_cluster_url(url)
        except ValueError as error:
            raise ConfigError(f"{_where(config, 'redis_url')}: {error}") from None
    for key in (
        "embedded_redis_port",
        "embedded_redis_maxmemory_mb",
        "log_max_bytes",
        "log_backups",
        "log_retry_events",
        "session_ttl_seconds",
        "history_length",
        "history_ttl_seconds",
        "max_body_bytes",
        "local_sources_max_mb",
    ):
        value = config[key]
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ConfigError(
                f"{_where(config, key)}: must be a non-negative integer, got {value!r}"
            )
    for key in (
        "redis_timeout_seconds",
        "swap_grace_seconds",
        "version_check_seconds",
        "log_retry_seconds",
        "header_timeout_seconds",
        "overload_lag_seconds",
    ):
        value = config[key]
        if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
            raise ConfigError(
                f"{_where(config, key)}: must be a non-negative number, got {value!r}"
            )
    try:
        check_live_name(config["log_file"])
    except ValueError as error:
        raise ConfigError(f"{_where(config, 'log_file')}: {error}") from None
    seed = config["seed"]
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise ConfigError(f"{_where(config, 'seed')}: must be an integer or null, got {seed!r}")
    for key in ("namespace", "log_dir"):
        if not isinstance(config[key], str) or not config[key]:
            raise ConfigError(f"{_where(config, key)}: must be a non-empty string")
    data = config["data"]
    if not isinstance(data, dict):
        raise ConfigError(f"{_where(config, 'data')}: must be an object")
    for key in ("user_recommendations", "item_recommendations"):
        sources = data.get(key)
        if not isinstance(sources, dict) or not all(
            isinstance(name, str) and isinstance(file, str) for name, file in sources.items()
        ):
            raise ConfigError(f"{_where(config, 'data.' + key)}: must map source names to files")
    if not isinstance(data.get("catalog"), str):
        raise ConfigError(f"{_where(config, 'data.catalog')}: must name the catalog file")
    if data.get("top_tracks") is not None and not isinstance(data["top_tracks"], str):
        raise ConfigError(f"{_where(config, 'data.top_tracks')}: must name a file or be null")
    if not isinstance(config["experiments"], list):
        raise ConfigError(f"{_where(config, 'experiments')}: must be a list")


CLUSTER_SCHEME = "redis+cluster://"


def is_cluster_url(url: str) -> bool:
    return url.startswith(CLUSTER_SCHEME)


def parse_cluster_url(url: str) -> tuple[list[tuple[str, int]], str | None, str | None]:
    """(seed nodes, username, password) of a redis+cluster:// URL; ValueError names what is
    wrong with it."""
    if not is_cluster_url(url):
        raise ValueError(f"a Redis Cluster URL starts with {CLUSTER_SCHEME}")
    rest = url[len(CLUSTER_SCHEME) :]
    rest, _, database = rest.partition("/")
    if database not in ("", "0"):
        raise ValueError(f"a Redis Cluster has only database 0, not {database!r}")
    credentials, at, hosts = rest.rpartition("@")
    username = password = None
    if at:
        user, colon, secret = credentials.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if colon else None
    seeds = []
    for seed in hosts.split(","):
        host, colon, port = seed.strip().rpartition(":")
        if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"a cluster seed must be host:port, got {seed!r}")
        seeds.append((host, int(port)))
    return seeds, username, password


def safe_url(url: str) -> str:
    """`url` with its password masked, for messages: redis://:***@host:6379/0."""
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not sep or not at:
        return url
    user, colon, _ = credentials.partition(":")
    return f"{scheme}://{user}{':***' if colon else ''}@{host}"


def redis_url(config: Config) -> str:
    """Where the service's Redis is: the configured URL, else the embedded server's address."""
    from botify.redis_server import DEFAULT_HOST

    return config["redis_url"] or f"redis://{DEFAULT_HOST}:{config['embedded_redis_port']}/0"
