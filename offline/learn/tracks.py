"""The catalog as training sees it: track ids, their artists and genres, and a dense index 0..n-1
that every model's matrices use.

`genre` is not a field of the course's catalog; the simulator's catalog has it. Where no line
has one, `genres` is None and the models that would use it do without.

The catalog is parsed by botify's own reader (botify.dataset.read_catalog), so a catalog that
botify would refuse is refused here too, with the same message naming the file and line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import ujson

from botify.dataset import DataError, read_catalog
from offline.logs.errors import InputError


@dataclass
class Tracks:
    path: Path
    ids: np.ndarray  # int64 track id of each dense index, in catalog order
    artists: np.ndarray  # int32 artist number of each dense index
    genres: np.ndarray | None  # int32 genre number of each dense index (-1: none), or None
    _sorted_ids: np.ndarray  # ids, sorted
    _sorted_index: np.ndarray  # dense index of each sorted id

    def __len__(self) -> int:
        return len(self.ids)

    def index_of(self, ids: np.ndarray) -> np.ndarray:
        """The dense index of each id, -1 for an id that is not in the catalog."""
        ids = np.asarray(ids, dtype=np.int64)
        position = np.searchsorted(self._sorted_ids, ids)
        position[position == len(self._sorted_ids)] = 0
        found = self._sorted_ids[position] == ids
        return np.where(found, self._sorted_index[position], -1).astype(np.int64)


def tracks_from_ids(
    ids: np.ndarray,
    artists: np.ndarray,
    genres: np.ndarray | None = None,
    path: Path = Path("-"),
) -> Tracks:
    ids = np.asarray(ids, dtype=np.int64)
    order = np.argsort(ids, kind="stable")
    genres = None if genres is None else np.asarray(genres, dtype=np.int32)
    return Tracks(path, ids, np.asarray(artists, dtype=np.int32), genres, ids[order], order)


def genre_numbers(records: list[str]) -> np.ndarray | None:
    """Each track's genre as a number (in order of first appearance), -1 where a line has none;
    None when no line has one."""
    numbers: dict[str, int] = {}
    genres = np.full(len(records), -1, dtype=np.int32)
    for position, record in enumerate(records):
        genre = ujson.loads(record).get("genre")
        if isinstance(genre, str) and genre:
            genres[position] = numbers.setdefault(genre, len(numbers))
    return genres if numbers else None


def load_tracks(path: str | Path) -> Tracks:
    path = Path(path)
    try:
        catalog, _, _ = read_catalog(path)
    except DataError as error:
        raise InputError(f"catalog: {error}") from None
    assert catalog.records is not None  # read_catalog keeps every line's object
    return tracks_from_ids(catalog.ids, catalog.artists, genre_numbers(catalog.records), path)
