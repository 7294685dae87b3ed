"""The configs of `botify experiment`'s days: what each day serves, where it logs, and the
simulator's config that drives it. Each is written once, into the run's folder, when its inputs
exist."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from botify.config import Config
from lab.processes import ROOT
from sim.worldfiles import TOP_TRACKS, TRACKS
from sim.worldgen import WorldSpec


@dataclass(frozen=True)
class Size:
    tracks: int
    artists: int
    users: int
    sessions: int  # per day


_COURSE_SCALE = WorldSpec()
DEFAULT_SIZE = Size(_COURSE_SCALE.tracks, _COURSE_SCALE.artists, _COURSE_SCALE.users, 20_000)
QUICK_SIZE = Size(3_000, 600, 1_500, 3_000)

COLD_START = "COLD_START"
AA = "AA"


def write_json(path: Path, value: Any) -> Path:
    path.write_text(json.dumps(value, indent=1))
    return path


def routing_name(base: Config) -> str:
    return base["routing_experiment"] or base["experiments"][0]["name"]


def day1_config(base: Config, run: Path, world: Path, redis_url: str) -> Path:
    """Cold start: the routing experiment's control chain for everyone, an A/A alongside."""
    spec = next(e for e in base["experiments"] if e["name"] == routing_name(base))
    day1 = {
        **base.values,
        "redis_url": redis_url,
        "swap_grace_seconds": 1.0,
        "data": {
            "catalog": str(world / TRACKS),
            "top_tracks": str(world / TOP_TRACKS),
            "item_recommendations": {},
            "user_recommendations": {},
        },
        "log_dir": str(run / "logs" / "day1"),
        "routing_experiment": COLD_START,
        "experiments": [
            {"name": COLD_START, "arms": {"C": spec["arms"]["C"]}},
            {"name": AA, "arms": 2},
        ],
    }
    return write_json(run / "config.day1.json", day1)


def own_sources(base: Config, learned: dict[str, Any]) -> dict[str, dict[str, str]]:
    """The list sources of `base` that training does not write (a homework's own list files),
    by kind, their paths resolved against the config's folder."""
    own: dict[str, dict[str, str]] = {}
    for kind in ("item_recommendations", "user_recommendations"):
        sources = base["data"].get(kind) or {}
        own[kind] = {
            name: str(base.path(path))
            for name, path in sources.items()
            if name not in (learned.get(kind) or {})
        }
    return own


def day2_config(base: Config, run: Path, world: Path, redis_url: str, model: Path) -> Path:
    """config.json's experiments on the files learned from day 1, and on the config's own list
    files where training writes no source of that name."""
    learned = json.loads((model / "botify_data.json").read_text())
    own = own_sources(base, learned)
    day2 = {
        **base.values,
        "redis_url": redis_url,
        "swap_grace_seconds": 1.0,
        "data": {
            **learned,
            **{kind: {**own[kind], **(learned.get(kind) or {})} for kind in own},
            "catalog": str(world / TRACKS),
        },
        "log_dir": str(run / "logs" / "day2"),
        "routing_experiment": routing_name(base),
    }
    return write_json(run / "config.day2.json", day2)


def sim_config(run: Path, world: Path) -> Path:
    """The simulator's shipped config, on this run's world, without an in-process section."""
    config = yaml.safe_load((ROOT / "sim" / "config.yaml").read_text())
    config["world"] = {"dir": str(world)}
    config.pop("inprocess", None)
    path = run / "sim.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path
