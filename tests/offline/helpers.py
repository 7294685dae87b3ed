"""Log-making helpers shared by the offline tests."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from lab.synthetic import Users, make_users, simulate, write_log


def event(
    user: int,
    timestamp: int,
    message: str = "next",
    time: float = 0.5,
    latency: float = 0.001,
    arm: str | None = "C",
    experiment: str = "AB",
) -> dict:
    """One event as the service logs it."""
    return {
        "message": message,
        "timestamp": timestamp,
        "user": user,
        "track": 7,
        "time": time,
        "latency": latency,
        "recommendation": 8,
        "experiments": {} if arm is None else {experiment: arm},
        "recommender": "top_pop",
    }


def write_events(path: Path, events: Iterable[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


def synthetic_log(
    folder: Path,
    n_users: int = 400,
    seed: int = 0,
    n_arms: int = 2,
    effects: dict[str, float] | None = None,
    replicas: int = 2,
    max_bytes: int = 60_000,
    users: Users | None = None,
) -> dict:
    """A generated log on disk; returns the generated columns."""
    users = users or make_users(n_users, seed)
    events = simulate(users, {"AB": n_arms, "OTHER": 3}, seed=seed + 1, effects=effects)
    write_log(events, folder, replicas=replicas, max_bytes=max_bytes, seed=seed + 2)
    return events


def fresh_users(n_users: int, repetition: int) -> Users:
    """Independent users for each repetition (new ids, so new mmh3 buckets, and new tastes)."""
    return make_users(n_users, seed=10_000 + repetition, first_id=repetition * n_users)
