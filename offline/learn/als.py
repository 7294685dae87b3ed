"""Implicit-feedback matrix factorisation (the `implicit` library's ALS) on users x tracks.

A user's preference for a track is how much of it they listened to, summed over their listens
(a skipped track adds ~0, so it is no evidence for the track); ALS's confidence is
1 + alpha * that sum. Only tracks that occur in the logs get a column: a track nobody played
has no factors worth ranking.

The model gives two things: each user's ranked tracks (the per-user file) and each track's
nearest tracks by the cosine of their factors (an item-to-item component).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from offline.learn.listens import Listens
from offline.learn.ranking import PAD, drop_items

if TYPE_CHECKING:  # at run time implicit is imported only when a model is fitted (fit_als)
    from implicit.cpu.als import AlternatingLeastSquares


@dataclass(frozen=True)
class ALSParams:
    factors: int = 64
    iterations: int = 15
    regularization: float = 0.05
    alpha: float = 10.0
    seed: int = 0
    threads: int = 0  # 0: all cores


@dataclass
class ALSModel:
    users: np.ndarray  # user id of each row
    items: np.ndarray  # dense track index of each column
    matrix: sp.csr_matrix  # users x items, listened time
    model: AlternatingLeastSquares

    def recommend(
        self, n: int, exclude_seen: bool = False, only: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(user ids, (users, n) dense track indices, best first), for every user or for the
        users of `only` that the model knows."""
        rows = np.arange(len(self.users))
        if only is not None:
            rows = rows[np.isin(self.users, only)]
        n = min(n, len(self.items))
        with threadpool_limits(1, "blas"):
            ids, _ = self.model.recommend(
                rows, self.matrix[rows], N=n, filter_already_liked_items=exclude_seen
            )
        return self.users[rows], self._to_tracks(ids)

    def similar(self, n_tracks: int, n: int, only: np.ndarray | None = None) -> np.ndarray:
        """(n_tracks, n) each track's nearest tracks by factor cosine; -1 rows for tracks
        without factors (and, with `only`, for tracks not in it)."""
        out = np.full((n_tracks, n), PAD, dtype=np.int64)
        columns = np.arange(len(self.items))
        if only is not None:
            columns = columns[np.isin(self.items, only)]
        if len(self.items) < 2 or not len(columns):
            return out
        count = min(n + 1, len(self.items))
        with threadpool_limits(1, "blas"):
            ids, scores = self.model.similar_items(columns, N=count)
        similar = self._to_tracks(ids)
        # Not the track itself, and nothing without a positive similarity.
        similar[(similar == self.items[columns][:, None]) | ~(scores > 0)] = PAD
        similar = drop_items(similar, np.zeros(n_tracks, dtype=bool))[:, :n]
        out[self.items[columns], : similar.shape[1]] = similar
        return out

    def _to_tracks(self, ids: np.ndarray) -> np.ndarray:
        ids = np.asarray(ids, dtype=np.int64)
        valid = (ids >= 0) & (ids < len(self.items))
        return np.where(valid, self.items[np.clip(ids, 0, len(self.items) - 1)], PAD)


def user_item_matrix(listens: Listens) -> tuple[np.ndarray, np.ndarray, sp.csr_matrix]:
    users, user_row = np.unique(listens.user, return_inverse=True)
    items, item_col = np.unique(listens.track, return_inverse=True)
    matrix = sp.csr_matrix(
        (listens.time.astype(np.float32), (user_row, item_col)),
        shape=(len(users), len(items)),
        dtype=np.float32,
    )
    matrix.sum_duplicates()
    matrix.eliminate_zeros()
    return users, items, matrix


def fit_als(listens: Listens, params: ALSParams) -> ALSModel:
    from implicit.cpu.als import AlternatingLeastSquares

    users, items, matrix = user_item_matrix(listens)
    # implicit warns when BLAS runs its own threads; its threads are the ones to keep.
    with threadpool_limits(1, "blas"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        model = AlternatingLeastSquares(
            factors=params.factors,
            regularization=params.regularization,
            alpha=params.alpha,
            iterations=params.iterations,
            random_state=params.seed,
            num_threads=params.threads,
        )
        model.fit(matrix, show_progress=False)
    return ALSModel(users, items, matrix, model)
