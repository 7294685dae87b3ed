"""Per-user factorisation with item features (`--users features`): a user is a vector, a track
is the sum of its own vector, its artist's and its genre's (LightFM's idea), and a user's score
for a track is their dot product plus the track's bias. The artist and genre vectors are shared
by all their tracks, so a user who enjoyed some of an artist's tracks scores the others high,
even ones nobody played.

Fitted by BPR (a listen the user enjoyed should score above one they did not) with Adagrad, in
mini-batches: every listen of at least `enjoyed` is a positive, the session's first track too
(the client plays it from the user's own taste); each is paired with a negative, half the time
one of the user's own skipped listens (below `skipped`), otherwise a random track of the
positive's genre (of the catalog without genres), so that the model learns to tell tracks of
one genre apart, not genres. A user's list is their best `n` tracks of the genres they enjoyed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from offline.learn.listens import Listens
from offline.learn.ranking import PAD


@dataclass(frozen=True)
class FeatureParams:
    factors: int = 64
    epochs: int = 8
    regularization: float = 0.02
    learning_rate: float = 0.05
    skipped: float = 0.2  # a listen below this is a negative for its user
    batch: int = 20_000
    seed: int = 0


class _Adagrad:
    """The parameters and Adagrad's per-coordinate sums of squared gradients."""

    def __init__(self, rate: float, **params: np.ndarray):
        self.rate = rate
        self.params = params
        self.squares = {name: np.full_like(p, 1e-6) for name, p in params.items()}

    def step(self, name: str, rows: np.ndarray, grad: np.ndarray) -> None:
        """One step on the batch's gradient, summed per row (a sparse product: np.add.at is
        several times slower)."""
        touched, inverse = np.unique(rows, return_inverse=True)
        ones = np.ones(len(rows), dtype=grad.dtype)
        summing = sp.csr_matrix((ones, (inverse, np.arange(len(rows)))), (len(touched), len(rows)))
        total = summing @ grad
        self.squares[name][touched] += total * total
        self.params[name][touched] -= self.rate * total / np.sqrt(self.squares[name][touched])


@dataclass
class FeatureModel:
    users: np.ndarray  # user id of each row
    user_vectors: np.ndarray  # (users, factors)
    track_vectors: np.ndarray  # (tracks, factors): the track's + its artist's + its genre's
    track_bias: np.ndarray  # (tracks,)
    track_genres: np.ndarray  # (tracks,) genre numbers (dense_genres)
    liked_genres: np.ndarray  # (users, genres) bool: the genres of the tracks each user enjoyed

    def recommend(self, n: int, only: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(user ids, (users, n) dense track indices, best first): each user's best tracks of
        the genres they enjoyed."""
        rows = np.arange(len(self.users))
        if only is not None:
            rows = rows[np.isin(self.users, only)]
        n = min(n, len(self.track_bias))
        lists = np.full((len(rows), n), PAD, dtype=np.int64)
        for start in range(0, len(rows), 500):
            chunk = rows[start : start + 500]
            scores = self.user_vectors[chunk] @ self.track_vectors.T + self.track_bias
            scores[~self.liked_genres[chunk][:, self.track_genres]] = -np.inf
            best = np.argpartition(-scores, n - 1, axis=1)[:, :n]
            order = np.argsort(-np.take_along_axis(scores, best, axis=1), axis=1, kind="stable")
            best = np.take_along_axis(best, order, axis=1)
            best[~np.isfinite(np.take_along_axis(scores, best, axis=1))] = PAD
            lists[start : start + len(chunk)] = best
        return self.users[rows], lists


def _genre_sampler(genres: np.ndarray):
    """A function drawing, for each genre number given, a random track of that genre."""
    order = np.argsort(genres, kind="stable")
    keys = genres[order]
    first = np.searchsorted(keys, genres)
    size = np.searchsorted(keys, genres, side="right") - first

    def draw(tracks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        offset = (rng.random(len(tracks)) * size[tracks]).astype(np.int64)
        return order[first[tracks] + offset]

    return draw


def dense_genres(n_tracks: int, genres: np.ndarray | None) -> np.ndarray:
    """Each track's genre number, the tracks without one (or a catalog without genres) sharing
    one number of their own."""
    genre = np.zeros(n_tracks, dtype=np.int64) if genres is None else genres.astype(np.int64)
    return np.where(genre < 0, genre.max() + 1, genre)


def fit_features(
    listens: Listens,
    artists: np.ndarray,
    genres: np.ndarray | None,
    enjoyed: float,
    params: FeatureParams,
) -> FeatureModel:
    n_tracks = len(artists)
    genre = dense_genres(n_tracks, genres)
    artist = artists.astype(np.int64)
    users, row = np.unique(listens.user, return_inverse=True)
    first = np.r_[True, listens.session[1:] != listens.session[:-1]]
    positive = first | (listens.time >= enjoyed)
    pos_user, pos_track = row[positive], listens.track[positive]
    skipped = ~first & (listens.time < params.skipped)
    order = np.argsort(row[skipped], kind="stable")
    skip_user, skip_track = row[skipped][order], listens.track[skipped][order]
    skip_first = np.searchsorted(skip_user, np.arange(len(users)))
    skip_count = np.searchsorted(skip_user, np.arange(len(users)), side="right") - skip_first
    same_genre = _genre_sampler(genre)

    rng = np.random.default_rng(params.seed)
    k = params.factors
    opt = _Adagrad(
        params.learning_rate,
        user=rng.normal(0.0, 0.1, (len(users), k)).astype(np.float32),
        track=rng.normal(0.0, 0.1, (n_tracks, k)).astype(np.float32),
        artist=np.zeros((int(artist.max()) + 1, k), dtype=np.float32),
        genre=np.zeros((int(genre.max()) + 1, k), dtype=np.float32),
        bias=np.zeros(n_tracks, dtype=np.float32),
    )
    p, reg = opt.params, params.regularization

    def vectors(tracks: np.ndarray) -> np.ndarray:
        return p["track"][tracks] + p["artist"][artist[tracks]] + p["genre"][genre[tracks]]

    batches = max(1, len(pos_user) // params.batch)
    for _ in range(params.epochs):
        for batch in np.array_split(rng.permutation(len(pos_user)), batches):
            user, good = pos_user[batch], pos_track[batch]
            bad = same_genre(good, rng)
            own = (rng.random(len(user)) < 0.5) & (skip_count[user] > 0)
            mine = user[own]
            pick = skip_first[mine] + (rng.random(len(mine)) * skip_count[mine]).astype(np.int64)
            bad[own] = skip_track[pick]
            u, q_good, q_bad = p["user"][user], vectors(good), vectors(bad)
            margin = (u * (q_good - q_bad)).sum(1) + p["bias"][good] - p["bias"][bad]
            # d/d margin of -log sigmoid(margin)
            slope = (-1.0 / (1.0 + np.exp(np.clip(margin, -30, 30)))).astype(np.float32)
            opt.step("user", user, slope[:, None] * (q_good - q_bad) + reg * u)
            for tracks, sign in ((good, 1.0), (bad, -1.0)):
                grad = sign * slope[:, None] * u
                opt.step("track", tracks, grad + reg * p["track"][tracks])
                opt.step("artist", artist[tracks], grad)
                opt.step("genre", genre[tracks], grad)
                opt.step("bias", tracks, sign * slope)
    liked = np.zeros((len(users), int(genre.max()) + 1), dtype=bool)
    liked[pos_user, genre[pos_track]] = True
    return FeatureModel(users, p["user"], vectors(np.arange(n_tracks)), p["bias"], genre, liked)


def feature_lists(
    listens: Listens,
    artists: np.ndarray,
    genres: np.ndarray | None,
    enjoyed: float,
    params: FeatureParams,
    n: int,
    only: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(sorted user ids, (users, n) dense track indices, best first)."""
    return fit_features(listens, artists, genres, enjoyed, params).recommend(n, only)
