"""The item-to-item `catalog` component: what the catalog's artists and genres suggest, with how
far to trust each learned from the logs.

A track's list is the other tracks by its artist, most listened first, then one track (the most
listened) of each other artist of its genre, most listened first. Every catalog track gets a
list, even one nobody played.

How many of the artist's tracks come before the genre's is learned: listeners tire of an artist
within a session, so the logs are asked how much of a track the listeners heard when it was
the artist's j-th play in the session (j = 2, 3, ...; among the tracks by the artist the session
began with), and how much when it was a first play of another artist of the session's genre.
The list keeps the artist's tracks for as long as the j-th play is still worth more than a new
artist of the genre. Without genres in the catalog, or with too few observations of either kind,
the list is the artist's tracks alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from offline.learn.listens import Listens
from offline.learn.ranking import PAD, drop_items

MIN_OBSERVATIONS = 20  # fewer listens than this say nothing reliable about a mean


@dataclass(frozen=True)
class ArtistDepth:
    depth: int | None  # the artist's tracks to list before the genre's; None: no limit
    repeat_means: list[float]  # mean listened fraction of the artist's 2nd, 3rd, ... play
    genre_mean: float | None  # mean listened fraction of a first play of a genre-mate artist
    genre_listens: int

    def as_dict(self) -> dict:
        rounded = [round(mean, 4) for mean in self.repeat_means]
        genre_mean = None if self.genre_mean is None else round(self.genre_mean, 4)
        return {**self.__dict__, "repeat_means": rounded, "genre_mean": genre_mean}


def plays_so_far(session: np.ndarray, artist: np.ndarray) -> np.ndarray:
    """For each listen, how many times its artist was played in its session up to and including
    it (listens are in session order)."""
    order = np.lexsort((np.arange(len(session)), artist, session))
    key_session, key_artist = session[order], artist[order]
    new = np.r_[True, (key_session[1:] != key_session[:-1]) | (key_artist[1:] != key_artist[:-1])]
    run_start = np.maximum.accumulate(np.where(new, np.arange(len(order)), 0))
    count = np.empty(len(order), dtype=np.int64)
    count[order] = np.arange(len(order)) - run_start + 1
    return count


def artist_depth(
    listens: Listens, artists: np.ndarray, genres: np.ndarray | None, limit: int
) -> ArtistDepth:
    n = len(listens)
    if not n:
        return ArtistDepth(None, [], None, 0)
    session = listens.session
    first_index = np.searchsorted(session, session)  # each listen's session's first listen
    artist = artists[listens.track]
    first_artist = artist[first_index]
    plays = plays_so_far(session, artist)
    later = np.arange(n) != first_index
    time = listens.time.astype(np.float64)

    own = later & (artist == first_artist)
    repeat_means = []
    for j in range(2, limit + 2):
        at_j = own & (plays == j)
        if at_j.sum() < MIN_OBSERVATIONS:
            break
        repeat_means.append(float(time[at_j].mean()))
    if genres is None:
        return ArtistDepth(None, repeat_means, None, 0)
    genre = genres[listens.track]
    mate = later & (plays == 1) & (artist != first_artist) & (genre == genre[first_index])
    mate &= genre >= 0
    if mate.sum() < MIN_OBSERVATIONS or not repeat_means:
        return ArtistDepth(None, repeat_means, None, int(mate.sum()))
    genre_mean = float(time[mate].mean())
    # The leading repeats worth more than a genre-mate (as far as the logs show repeats).
    depth = 0
    while depth < len(repeat_means) and repeat_means[depth] > genre_mean:
        depth += 1
    return ArtistDepth(depth, repeat_means, genre_mean, int(mate.sum()))


def ranked_within(groups: np.ndarray, popularity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices ordered by group, then popularity (most first), then index; and the start of
    each index's group in that order."""
    order = np.lexsort((np.arange(len(groups)), -popularity, groups))
    starts = np.searchsorted(groups[order], groups, side="left")
    return order, starts


def artist_block(artists: np.ndarray, popularity: np.ndarray, n: int) -> np.ndarray:
    """Each track's fellow tracks by its artist, most listened first."""
    n_tracks = len(artists)
    order, starts = ranked_within(artists, popularity)
    ends = np.searchsorted(artists[order], artists, side="right")
    out = np.full((n_tracks, n + 1), PAD, dtype=np.int64)
    for rank in range(n + 1):
        has = starts + rank < ends
        out[has, rank] = order[starts[has] + rank]
    out[out == np.arange(n_tracks)[:, None]] = PAD
    return drop_items(out, np.zeros(n_tracks, dtype=bool))[:, :n]


def genre_block(
    artists: np.ndarray, genres: np.ndarray, popularity: np.ndarray, n: int
) -> np.ndarray:
    """Each track's genre-mates: the most listened track of each other artist of its genre,
    most listened first."""
    n_tracks = len(artists)
    order, _ = ranked_within(artists, popularity)
    best_of_artist = order[np.r_[True, artists[order][1:] != artists[order][:-1]]]
    best_of_artist = best_of_artist[genres[best_of_artist] >= 0]
    chart = best_of_artist[
        np.lexsort((best_of_artist, -popularity[best_of_artist], genres[best_of_artist]))
    ]
    chart_genre = genres[chart]
    n_genres = int(genres.max()) + 1
    starts = np.searchsorted(chart_genre, np.arange(n_genres + 1))
    # the top n + 1 of each genre: one of them may be the anchor's own artist
    top = np.full((n_genres, n + 1), PAD, dtype=np.int64)
    for rank in range(n + 1):
        has = starts[:-1] + rank < starts[1:]
        top[has, rank] = chart[starts[:-1][has] + rank]
    out = np.full((n_tracks, n + 1), PAD, dtype=np.int64)
    has_genre = genres >= 0
    out[has_genre] = top[genres[has_genre]]
    own = (out != PAD) & (artists[np.clip(out, 0, None)] == artists[:, None])
    out[own] = PAD
    return drop_items(out, np.zeros(n_tracks, dtype=bool))[:, :n]


def catalog_lists(
    artists: np.ndarray,
    genres: np.ndarray | None,
    popularity: np.ndarray,
    depth: ArtistDepth,
    n: int,
) -> np.ndarray:
    if genres is None or depth.depth is None:
        return artist_block(artists, popularity, n)
    own = artist_block(artists, popularity, min(depth.depth, n))
    mates = genre_block(artists, genres, popularity, n)
    lists = np.concatenate([own, mates], axis=1)
    return drop_items(lists, np.zeros(len(artists), dtype=bool))[:, :n]
