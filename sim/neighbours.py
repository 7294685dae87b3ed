"""Exact nearest neighbours by dot product, with numpy alone (no faiss needed at this scale).

Scoring a query against 50,000 x 64 embeddings is one product (~0.3 ms); what costs is picking
the top k, so each row first finds a threshold that at least k scores reach (the k-th largest
of a strided sample: the sample is part of the row, so at least k scores reach it), then sorts
only the few hundred candidates above it. Ties go to the smaller track id.

The generator precomputes the neighbours of every user interest (world/neighbours.npz) in
batches, so a session's start costs nothing at run time; other queries (a course-made world,
a larger `interest_neighbours`) are computed on first use and cached."""

from __future__ import annotations

import numpy as np

BATCH = 512


def dense_top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """For each row of the dense matrix `scores`, the column indices of its k largest values,
    best first."""
    rows_n, n = scores.shape
    k = min(k, n)
    stride = 1 if k * 16 > n else max(1, n // 4096)
    sample = scores[:, ::stride]
    width = sample.shape[1]
    threshold = np.partition(sample, width - k, axis=1)[:, width - k]
    rows, cols = np.nonzero(scores >= threshold[:, None])
    order = np.lexsort((cols, -scores[rows, cols], rows))
    rows, cols = rows[order], cols[order]
    starts = np.searchsorted(rows, np.arange(rows_n))
    return cols[starts[:, None] + np.arange(k)]


def nearest_many(embeddings: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """(len(queries), k) nearest track ids of each query track, itself included."""
    k = min(k, len(embeddings))
    out = np.empty((len(queries), k), dtype=np.int32)
    for start in range(0, len(queries), BATCH):
        chunk = queries[start : start + BATCH]
        out[start : start + len(chunk)] = dense_top_k(embeddings[chunk] @ embeddings.T, k)
    return out


class NeighbourIndex:
    def __init__(
        self, embeddings: np.ndarray, preset: tuple[np.ndarray, np.ndarray] | None = None
    ) -> None:
        """`preset`: (query tracks, their nearest neighbours), as the generator wrote them."""
        self.embeddings = embeddings
        self._cache: dict[tuple[int, int], tuple[int, ...]] = {}
        self._preset: dict[int, np.ndarray] = {}
        self._preset_k = 0
        if preset is not None:
            tracks, neighbours = preset
            self._preset = dict(zip(tracks.tolist(), neighbours, strict=True))
            self._preset_k = neighbours.shape[1]

    def nearest(self, track: int, k: int) -> tuple[int, ...]:
        """The k tracks nearest to `track` (itself included, as the course's index returns)."""
        key = (track, k)
        found = self._cache.get(key)
        if found is None:
            row = self._preset.get(track) if k <= self._preset_k else None
            if row is None:
                row = nearest_many(self.embeddings, np.array([track]), k)[0]
            found = tuple(row[:k].tolist())
            self._cache[key] = found
        return found
