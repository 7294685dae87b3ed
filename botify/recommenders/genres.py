"""Each catalog track's genre as a number, for recommenders that keep to a genre (exploration
among genre-mates, a user's replays of the session's genre): the catalog's `genre` field, read
once per catalog version from its records (in memory where the catalog was read from its file,
else from the store)."""

from __future__ import annotations

import json

import numpy as np

from botify.data import DataView
from botify.dataset import Catalog


class Genres:
    """Genre numbers of the view's current catalog, cached per catalog version."""

    def __init__(self, data: DataView, needed_by: str):
        self.data = data
        self.needed_by = needed_by  # named in the error when the catalog has no genres
        self._cached: tuple[Catalog, np.ndarray] | None = None

    def numbers(self) -> tuple[Catalog, np.ndarray]:
        catalog = self.data.catalog
        if self._cached is None or self._cached[0] is not catalog:
            records = catalog_records(self.data, self.needed_by)
            self._cached = catalog, genre_numbers(catalog, records, self.needed_by)
        return self._cached

    def of(self, track: int) -> int | None:
        catalog, numbers = self.numbers()
        position = catalog.index.get(track)
        return None if position is None else int(numbers[position])


def catalog_records(data: DataView, needed_by: str) -> list[str]:
    """Every track's record (JSON) of the view's current catalog, in catalog order: in memory where
    the catalog was read from its file, else from the store (one round trip)."""
    records = data.catalog.records
    if records is None:
        track_records = getattr(data.store, "track_records", None)
        if track_records is None:
            raise ValueError(f"{needed_by} needs the catalog's records")
        records = track_records(data.snapshot)
    return records


def genre_numbers(catalog: Catalog, records: list[str], needed_by: str) -> np.ndarray:
    numbers: dict[str, int] = {}
    out = np.empty(len(catalog), dtype=np.int32)
    for position, record in enumerate(records):
        genre = json.loads(record).get("genre")
        if not isinstance(genre, str):
            raise ValueError(
                f"{needed_by} needs a 'genre' string on every catalog line; track "
                f"{int(catalog.ids[position])} has {genre!r}"
            )
        out[position] = numbers.setdefault(genre, len(numbers))
    return out
