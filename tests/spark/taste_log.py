"""A small log with something to learn: users who come back, each with favourite artists, whose
sessions stay mostly on one of them with a few detours, sessions of all users interleaved in time
(so that a held-out session's user was seen before). Written as botify writes it: two replicas,
each with a rotated file. Seeded."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.train.helpers import START_MS, session_events, write_catalog, write_events

N_ARTISTS, PER_ARTIST = 40, 6  # artist k has tracks 6k..6k+5


def write_taste_log(folder: Path, users: int = 120, rounds: int = 5, seed: int = 0):
    """(catalog, log folder) under `folder`."""
    rng = np.random.default_rng(seed)
    catalog = write_catalog(folder / "tracks.json", [t // PER_ARTIST for t in range(240)])
    favourites = [rng.choice(N_ARTISTS, 3, replace=False) for _ in range(users)]
    events = []
    for number in range(rounds * users):
        user = number % users
        artist = int(rng.choice(favourites[user]))
        listens = []
        for _ in range(int(rng.integers(4, 10))):
            if rng.random() < 0.8:
                track, time = artist * PER_ARTIST + int(rng.integers(PER_ARTIST)), rng.beta(5, 2)
            else:
                track, time = int(rng.integers(N_ARTISTS * PER_ARTIST)), rng.beta(1, 6)
            listens.append((track, round(float(time), 2)))
        listens[0] = (listens[0][0], 1.0)
        events += session_events(user, listens, START_MS + number * 60_000)
    for replica in range(2):
        mine = [e for i, e in enumerate(events) if i % 2 == replica]
        half = len(mine) // 2
        write_events(folder / "log" / f"replica-{replica}" / "events.jsonl.1", mine[:half])
        write_events(folder / "log" / f"replica-{replica}" / "events.jsonl", mine[half:])
    return catalog, folder / "log"
