"""Per-user lists of the tracks each user enjoyed: a listen of at least `threshold` of the track
(not a session's first listen, whose 1.0 the client sends without measuring), each track once at
its best listen, best first, the newer first among equals.

Listeners replay what they enjoyed when they come back in the same mood, and a listen measures
that one listener's taste where the item-to-item lists can only guess it; the service's
`replay` recommender plays the user's enjoyed tracks of the session's genre.
"""

from __future__ import annotations

import numpy as np

from offline.learn.listens import Listens
from offline.learn.ranking import PAD


def enjoyed_lists(
    listens: Listens, n: int, threshold: float, only: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(sorted user ids, (users, n) dense track indices, best first); with `only` (user ids),
    just those users."""
    first = np.r_[True, listens.session[1:] != listens.session[:-1]]
    keep = ~first & (listens.time >= threshold)
    if only is not None:
        keep &= np.isin(listens.user, only)
    user, track = listens.user[keep], listens.track[keep]
    time, when = listens.time[keep], listens.timestamp[keep]
    if not len(user):
        return np.zeros(0, dtype=np.int64), np.full((0, n), PAD, dtype=np.int64)
    # best listen of each (user, track) first, then the newer
    order = np.lexsort((-when, -time, track, user))
    user, track, time, when = user[order], track[order], time[order], when[order]
    once = np.r_[True, (user[1:] != user[:-1]) | (track[1:] != track[:-1])]
    user, track, time, when = user[once], track[once], time[once], when[once]
    order = np.lexsort((-when, -time, user))
    user, track = user[order], track[order]
    users, starts = np.unique(user, return_index=True)
    rank = np.arange(len(user)) - starts[np.searchsorted(users, user)]
    lists = np.full((len(users), n), PAD, dtype=np.int64)
    inside = rank < n
    lists[np.searchsorted(users, user[inside]), rank[inside]] = track[inside]
    return users, lists
