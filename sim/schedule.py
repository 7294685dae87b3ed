"""Who listens when, and the random stream of each session.

A day's users are drawn from (seed, day) alone, and the k-th session of user u on that day
takes its randomness from (seed, day, u, k) alone. So with a deterministic recommender the same
seed gives the same sessions however they are split across processes or interleaved in flight.
A user's sessions of a day stay together, in order, so one user is never simulated in two
places at once."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class Visit:
    episode: int  # position in the day's schedule
    user: int
    key: tuple[int, int, int, int]  # (run seed, day, user, k): the session's random stream

    @property
    def seed(self) -> int:
        """For env.reset(seed=...); derived when needed, as planning a big day must be quick."""
        return session_seed(*self.key)


def day_users(seed: int, day: int, episodes: int, n_users: int) -> np.ndarray:
    return np.random.default_rng([seed, day]).integers(n_users, size=episodes)


def session_seed(seed: int, day: int, user: int, k: int) -> int:
    return int(np.random.SeedSequence([seed, day, user, k]).generate_state(1, np.uint64)[0])


def plan_day(
    seed: int, day: int, episodes: int, n_users: int, shard: int = 0, shards: int = 1
) -> list[list[Visit]]:
    """This shard's users (user % shards == shard), each with its visits of the day in order;
    users in the order of their first visit."""
    by_user: dict[int, list[Visit]] = {}
    for episode, user in enumerate(day_users(seed, day, episodes, n_users).tolist()):
        if user % shards != shard:
            continue
        visits = by_user.setdefault(user, [])
        visits.append(Visit(episode, user, (seed, day, user, len(visits))))
    return list(by_user.values())
