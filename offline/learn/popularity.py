"""Top tracks: popularity from the logs.

The learned chart weights each listen by its listened fraction (a skipped track earns ~0), so a
track that is often recommended but rarely listened to does not rise. The baseline that the
evaluation compares every model with, TopPop, counts plays alone, as the course's TopPop does.
"""

from __future__ import annotations

import numpy as np

from offline.learn.listens import Listens


def ranked_by(scores: np.ndarray, limit: int | None) -> np.ndarray:
    """Indices with a positive score, best first (ties: lower index first)."""
    scored = np.flatnonzero(scores > 0)
    order = np.lexsort((scored, -scores[scored]))
    return scored[order][:limit]


def listened_time(listens: Listens, n_tracks: int) -> np.ndarray:
    return np.bincount(listens.track, weights=listens.time, minlength=n_tracks)


def top_tracks(listens: Listens, n_tracks: int, limit: int | None = None) -> np.ndarray:
    """Dense track indices by total listened time, most first."""
    return ranked_by(listened_time(listens, n_tracks), limit)


def top_by_plays(listens: Listens, n_tracks: int, limit: int | None = None) -> np.ndarray:
    """The baseline: dense track indices by number of plays, most first."""
    return ranked_by(np.bincount(listens.track, minlength=n_tracks).astype(float), limit)
