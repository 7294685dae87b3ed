"""Ranked lists as the models hand them around: a padded integer matrix, one row per key, its
best items first, -1 where a row has fewer than k items.

The helpers keep everything vectorised: a million scored pairs are ranked with one sort.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

PAD = -1


def sparse_top_k(
    scores: sp.csr_matrix,
    k: int,
    exclude_diagonal: bool = False,
    only: np.ndarray | None = None,
) -> np.ndarray:
    """Each row's k columns of highest score (ties: lower column first), only among stored
    entries with a positive score; shape (rows, k), padded with -1. With `only` (row indices),
    the other rows are left empty, and cost nothing."""
    scores = scores.tocsr()
    scores.sum_duplicates()  # also sorts each row's columns, which the stable sort keeps
    n_rows = scores.shape[0]
    row_ids = np.arange(n_rows) if only is None else np.asarray(only, dtype=np.int64)
    part = scores if only is None else scores[row_ids]
    rows = np.repeat(np.arange(part.shape[0]), np.diff(part.indptr))
    cols, values = part.indices.astype(np.int64), part.data.astype(np.float64)
    keep = values > 0
    if exclude_diagonal:
        keep &= row_ids[rows] != cols
    rows, cols, values = rows[keep], cols[keep], values[keep]
    out = np.full((n_rows, k), PAD, dtype=np.int64)
    if not len(values):
        return out
    # One stable sort on row + (how far below the row's best score): rows stay grouped, each
    # row's best first, equal scores in column order.
    best = np.zeros(part.shape[0])
    np.maximum.at(best, rows, values)
    order = np.argsort(rows + (1.0 - values / (best[rows] * 1.000001)), kind="stable")
    rows, cols = rows[order], cols[order]
    starts = np.searchsorted(rows, np.arange(part.shape[0]))
    rank = np.arange(len(rows)) - starts[rows]
    keep = rank < k
    out[row_ids[rows[keep]], rank[keep]] = cols[keep]
    return out


def reciprocal_rank_fusion(
    lists: list[np.ndarray], weights: list[float], k: int, offset: float = 10.0
) -> np.ndarray:
    """Fuse ranked lists (same rows) into one: an item scores the sum over lists of
    weight / (offset + rank), rank from 1. Scale-free, so lists of unrelated scores combine."""
    n_rows = lists[0].shape[0]
    rows, cols, values = [], [], []
    for ranked, weight in zip(lists, weights, strict=True):
        if not weight:
            continue
        r, rank = np.nonzero(ranked != PAD)
        rows.append(r)
        cols.append(ranked[r, rank])
        values.append(weight / (offset + rank + 1.0))
    if not rows:
        return np.full((n_rows, k), PAD, dtype=np.int64)
    n_cols = int(max(c.max(initial=0) for c in cols)) + 1
    fused = sp.csr_matrix(
        (np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n_rows, n_cols),
    )
    fused.sum_duplicates()
    return sparse_top_k(fused, k)


def drop_items(ranked: np.ndarray, unwanted: np.ndarray) -> np.ndarray:
    """The lists without the items where `unwanted` (a mask over item indices) is true, the
    remaining items moved up."""
    keep = ranked != PAD
    keep[keep] = ~unwanted[ranked[keep]]
    out = np.full_like(ranked, PAD)
    rank = np.cumsum(keep, axis=1) - 1
    rows, cols = np.nonzero(keep)
    out[rows, rank[rows, cols]] = ranked[rows, cols]
    return out


def lengths(ranked: np.ndarray) -> np.ndarray:
    return (ranked != PAD).sum(axis=1)
