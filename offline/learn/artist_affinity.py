"""The item-to-item `affinity` method: which other artists a listener of an artist enjoys, learned
from the sessions' first plays of artists, and each track's list as the order a session that
began with it should play, tiring of each artist as listeners do.

Evidence. Within a session, every first play of an artist after a first play of another artist
is an observation of the pair (the earlier artist, the later one): the later listen's fraction,
weighted by the earlier one's (a session's first track counts 1.0; an artist the listener skipped
says little about the session's taste). Pairs count both ways (a listener of A who enjoys B is
evidence for B's listeners too). Each observation is first taken relative to its listener (less
the listener's effect: how much more than the pairs' means that user hears of the artists they
try, shrunk by `listener_prior` observations' worth): listeners differ as much as artists do. A
pair's affinity is then the weighted mean shrunk towards the mean of its kind (genre-mates, or
artists of different genres) by `prior` observations' worth. The kinds' means count each pair's
first observation only: later ones are of pairs played again for having been enjoyed, which would
lift the prior of every pair never tried.

Lists. An artist's candidates are every genre-mate and every artist the logs paired it with.
Each of its `variants` lists (at most one per track; a track gets the variant of its place among
its artist's tracks) ranks them by one Thompson draw: the pair's mean plus normal noise of
`bonus * sqrt(prior / (weight + prior))`, so that the sessions of one artist try different
untried artists, the less known more often, and the well-known good ones keep their place. The
best `artists` of the draw are merged greedily by expected listened fraction: the artist's own
j-th extra play is worth what the logs show for it (the mean of such plays), another artist's
k-th play its drawn affinity times the fatigue per play (learned from the same repeat means).
Each artist's tracks come most listened first. A track's list is its variant without itself.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from offline.learn.catalog_prior import artist_depth, plays_so_far, ranked_within
from offline.learn.listens import Listens
from offline.learn.ranking import PAD, drop_items

DEFAULT_FATIGUE = 0.8  # per play of an artist, where the logs show too few repeats
LISTENER_ROUNDS = 6  # alternations of pair means and listener effects (converged by then)


@dataclass(frozen=True)
class AffinityParams:
    prior: float = 1.0  # observations' worth of the kind's mean
    bonus: float = 0.05  # spread of a pair's draw at no observation, times sqrt(prior)
    artists: int = 30  # other artists considered per artist
    variants: int = 8  # lists drawn per artist, at most one per track
    gap: int = 20  # first plays apart in a session that still pair
    listener_prior: float = 3.0  # observations' worth of "this listener is like any other"
    seed: int = 0


@dataclass
class Affinity:
    """Per ordered artist pair: the weighted sum of observed listened fractions, and the
    weights; with the means each pair is shrunk towards."""

    sums: sp.csr_matrix
    weights: sp.csr_matrix
    mate_mean: float  # genre-mates (or every other artist without genres), first observations
    other_mean: float  # artists of another genre, first observations
    repeat_means: list[float]  # the session's own artist's 2nd, 3rd, ... play
    fatigue: float

    def as_dict(self) -> dict:
        return {
            "pairs": int(self.weights.nnz),
            "mate_mean": round(self.mate_mean, 4),
            "other_mean": round(self.other_mean, 4),
            "repeat_means": [round(m, 4) for m in self.repeat_means],
            "fatigue": round(self.fatigue, 4),
        }


def first_play_pairs(listens: Listens, artists: np.ndarray, gap: int) -> tuple[np.ndarray, ...]:
    """(earlier artist, later artist, later listen's fraction, earlier listen's fraction, later
    listen's timestamp, user) for each pair of first plays of artists at most `gap` first plays
    apart in a session."""
    artist = artists[listens.track]
    first = np.flatnonzero(plays_so_far(listens.session, artist) == 1)
    session, time = listens.session[first], listens.time[first].astype(np.float64)
    parts: list[tuple[np.ndarray, ...]] = []
    for step in range(1, gap + 1):
        same = np.flatnonzero(session[step:] == session[:-step])
        if not len(same):
            break
        earlier, later = first[same], first[same + step]
        when, user = listens.timestamp[later], listens.user[later]
        parts.append((artist[earlier], artist[later], time[same + step], time[same], when, user))
    if not parts:
        kinds = (np.int64, np.int64, float, float, np.int64, np.int64)
        return tuple(np.zeros(0, dtype=kind) for kind in kinds)
    return tuple(np.concatenate(column) for column in zip(*parts, strict=True))


def listener_effects(
    pair: np.ndarray, user: np.ndarray, y: np.ndarray, w: np.ndarray, prior: float, shrink: float
) -> np.ndarray:
    """Each observation's listener effect: how much more than the pair's mean its user hears of
    artists new to the session, shrunk by `shrink` observations' worth towards 0. Listeners
    differ (some hear most of what they try, some little), and taking that out of each
    observation lets a pair's few observations speak for the pair rather than for who tried it.
    Fitted by alternating the pairs' shrunk means and the users' mean residuals (centred)."""
    _, pair = np.unique(pair, return_inverse=True)
    _, user = np.unique(user, return_inverse=True)
    pair_weight = np.maximum(np.bincount(pair, w) + prior, 1e-12)
    user_weight = np.maximum(np.bincount(user, w) + shrink, 1e-12)
    effect = np.zeros(user.max() + 1 if len(user) else 0)
    base = (w * y).sum() / max(w.sum(), 1e-12)
    for _ in range(LISTENER_ROUNDS):
        pair_mean = (np.bincount(pair, w * (y - effect[user])) + prior * base) / pair_weight
        effect = np.bincount(user, w * (y - pair_mean[pair])) / user_weight
        # relative to the average listener: a shift shared by all is the pairs' to keep
        effect -= (w * effect[user]).sum() / max(w.sum(), 1e-12)
    return effect[user]


def first_of_each_pair(pair: np.ndarray, when: np.ndarray) -> np.ndarray:
    """A mask of the earliest observation of each artist pair (`pair`: one key for either way
    round): the one made before the logs knew anything of the pair, so mostly by exploration,
    not chosen for being good."""
    order = np.lexsort((when, pair))
    first = np.r_[True, pair[order][1:] != pair[order][:-1]]
    mask = np.zeros(len(pair), dtype=bool)
    mask[order[first]] = True
    return mask


def fatigue_of(repeat_means: list[float]) -> float:
    """The median ratio of consecutive repeat means: how much each play of an artist lowers
    the next."""
    ratios = [b / a for a, b in zip(repeat_means, repeat_means[1:], strict=False) if a > 0]
    return float(np.clip(np.median(ratios), 0.05, 0.99)) if ratios else DEFAULT_FATIGUE


def fit_affinity(
    listens: Listens, artists: np.ndarray, genres: np.ndarray | None, params: AffinityParams
) -> Affinity:
    n_artists = int(artists.max()) + 1 if len(artists) else 0
    a, b, y, w, when, user = first_play_pairs(listens, artists, params.gap)
    low, high = np.minimum(a, b), np.maximum(a, b)
    pair = low * n_artists + high
    y = y - listener_effects(pair, user, y, w, params.prior, params.listener_prior)
    shape = (n_artists, n_artists)
    rows, cols = np.r_[a, b], np.r_[b, a]
    sums = sp.csr_matrix((np.r_[w * y, w * y], (rows, cols)), shape=shape)
    weights = sp.csr_matrix((np.r_[w, w], (rows, cols)), shape=shape)
    sums.sum_duplicates()
    weights.sum_duplicates()
    genre_of = artist_genres(artists, genres, n_artists)
    same = genre_of[a] == genre_of[b] if genre_of is not None else np.ones(len(a), dtype=bool)

    def mean(mask: np.ndarray) -> float:
        return float((w[mask] * y[mask]).sum() / w[mask].sum()) if w[mask].sum() > 0 else 0.0

    # The kinds' means from each pair's first observation: later ones are of pairs the models
    # chose to play again because they were enjoyed, which would lift an untried pair's prior.
    fresh = first_of_each_pair(pair, when)
    # the session's first artist's 2nd, 3rd, ... play, as the catalog component learns it
    repeat_means = artist_depth(listens, artists, None, 30).repeat_means
    return Affinity(
        sums,
        weights,
        mean(same & fresh),
        mean(~same & fresh),
        repeat_means,
        fatigue_of(repeat_means),
    )


def artist_genres(
    artists: np.ndarray, genres: np.ndarray | None, n_artists: int
) -> np.ndarray | None:
    """Each artist's genre number (-1: none), from its tracks; None without genres."""
    if genres is None:
        return None
    out = np.full(n_artists, -1, dtype=np.int64)
    out[artists] = genres
    return out


def own_values(affinity: Affinity, count: int) -> np.ndarray:
    """What the artist's own 2nd, 3rd, ... play is worth, the last known mean tiring on."""
    means = list(affinity.repeat_means) or [affinity.fatigue]
    while len(means) < count:
        means.append(means[-1] * affinity.fatigue)
    return np.array(means[:count])


def affinity_lists(
    affinity: Affinity,
    artists: np.ndarray,
    genres: np.ndarray | None,
    popularity: np.ndarray,
    params: AffinityParams,
    n: int,
) -> np.ndarray:
    """Every track's list, (n_tracks, n) dense indices padded with -1."""
    n_tracks = len(artists)
    n_artists = affinity.sums.shape[0]
    order, starts = ranked_within(artists, popularity)
    counts = np.bincount(artists, minlength=n_artists)
    first_of = np.zeros(n_artists, dtype=np.int64)
    first_of[artists[order]] = starts[order]
    tracks_of = [order[first_of[x] : first_of[x] + counts[x]] for x in range(n_artists)]
    rank = np.empty(n_tracks, dtype=np.int64)
    rank[order] = np.arange(n_tracks) - starts[order]  # each track's place within its artist
    genre_of = artist_genres(artists, genres, n_artists)
    mates: dict[int, np.ndarray] = {}
    if genre_of is not None:
        for genre in np.unique(genre_of[genre_of >= 0]):
            mates[int(genre)] = np.flatnonzero(genre_of == genre)
    rng = np.random.default_rng(params.seed)
    own = own_values(affinity, n + 1)
    sums, weights = affinity.sums.tocsr(), affinity.weights.tocsr()
    variants = np.minimum(counts, params.variants)
    first_variant = np.r_[0, np.cumsum(variants)]
    by_variant = np.full((int(first_variant[-1]), n + 1), PAD, dtype=np.int64)
    for artist in np.flatnonzero(counts).tolist():
        start, end = weights.indptr[artist], weights.indptr[artist + 1]
        observed = weights.indices[start:end].astype(np.int64)
        genre = -1 if genre_of is None else int(genre_of[artist])
        untried = np.setdiff1d(mates.get(genre, np.zeros(0, np.int64)), [*observed, artist])
        candidates = np.r_[observed, untried]
        seen_weight = np.r_[weights.data[start:end], np.zeros(len(untried))]
        seen_sum = np.r_[sums.data[start:end], np.zeros(len(untried))]
        same = np.ones(len(candidates), dtype=bool)
        if genre_of is not None:
            same = genre_of[candidates] == genre
        prior_mean = np.where(same, affinity.mate_mean, affinity.other_mean)
        shrunk = np.maximum(seen_weight + params.prior, 1e-12)
        mean = (seen_sum + params.prior * prior_mean) / shrunk
        spread = params.bonus * np.sqrt(params.prior / shrunk)
        for variant in range(int(variants[artist])):
            # Thompson sampling: each variant ranks by one draw around each pair's mean, so the
            # sessions of one artist try different untried artists, the uncertain more often.
            drawn = mean + spread * rng.standard_normal(len(candidates))
            best = np.argsort(-drawn, kind="stable")[: params.artists]
            by_variant[first_variant[artist] + variant] = merged(
                artist, candidates[best], drawn[best], own, affinity.fatigue, tracks_of, n + 1
            )
    lists = by_variant[first_variant[artists] + rank % np.maximum(variants[artists], 1)]
    lists[lists == np.arange(n_tracks)[:, None]] = PAD
    return drop_items(lists, np.zeros(n_tracks, dtype=bool))[:, :n]


def merged(
    artist: int,
    others: np.ndarray,
    values: np.ndarray,
    own: np.ndarray,
    fatigue: float,
    tracks_of: list[np.ndarray],
    n: int,
) -> np.ndarray:
    """Up to n tracks, greedily by the next play's worth: the artist's own tracks by `own` (the
    anchor track, listed among them and left out later, already played), each other artist's
    its value times fatigue per earlier play."""
    # (minus worth, artist, plays listed so far); the artist's own first entry is its 2nd play
    heap = [(-float(own[0]), int(artist), 0)]
    heap += [(-float(v), int(o), 0) for o, v in zip(others, values, strict=True) if v > 0]
    heapq.heapify(heap)
    out: list[int] = []
    base = dict(zip(others.tolist(), values.tolist(), strict=True))
    while heap and len(out) < n:
        _, who, listed = heapq.heappop(heap)
        tracks = tracks_of[who]
        if listed >= len(tracks):
            continue
        out.append(int(tracks[listed]))
        listed += 1
        # the artist's first two entries are worth its 2nd play: one of them is the anchor
        worth = own[listed - 1] if who == artist else base[who] * fatigue**listed
        if listed < len(tracks) and listed < len(own):
            heapq.heappush(heap, (-float(worth), who, listed))
    return np.array(out + [PAD] * (n - len(out)), dtype=np.int64)
