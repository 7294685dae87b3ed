"""Small catalogs and event logs written the way botify writes them, for the training tests."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

START_MS = 1_700_000_000_000

# A session: the user and its listens in order, (track, listened fraction); the first listen is
# the track the session started from.
Session = tuple[int, Sequence[tuple[int, float]]]


def write_catalog(path: Path, artists: Sequence[int], genres: Sequence[int] | None = None):
    """Track t is by artist `artists[t]` (and of genre `genres[t]`)."""
    lines = []
    for track, artist in enumerate(artists):
        record = {"track": track, "artist": f"artist {artist}", "title": f"song {track}"}
        if genres is not None:
            record["genre"] = f"genre {genres[track]}"
        lines.append(json.dumps(record) + "\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(lines))
    return path


def session_events(user: int, listens: Sequence[tuple[int, float]], start_ms: int) -> list[dict]:
    """The events of one session as the service logs them: a `next` for every listen but the
    last, whose answer is the next listen's track, then a `last`."""
    events = []
    for i, (track, time) in enumerate(listens):
        final = i == len(listens) - 1
        events.append(
            {
                "message": "last" if final else "next",
                "timestamp": start_ms + 1000 * i,
                "user": user,
                "track": track,
                "time": time,
                "latency": 0.001,
                "recommendation": None if final else listens[i + 1][0],
                "experiments": {"EXP": "C"},
                "recommender": None if final else "sticky_artist",
            }
        )
    return events


def log_events(sessions: Iterable[Session], gap_ms: int = 60_000) -> list[dict]:
    """The sessions one after another, `gap_ms` apart, in time order."""
    events = []
    for number, (user, listens) in enumerate(sessions):
        events += session_events(user, listens, START_MS + number * gap_ms)
    return events


def write_events(path: Path, events: Iterable[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(event) + "\n" for event in events))
    return path
