"""The names a course recommender file imports as `from botify.track import Catalog, Track`, so
that the file runs in botify unchanged (see botify.recommenders.course_adapter).

`Track` is the record that a course class gets, pickled, from its track database; `Catalog` is the
helper it unpickles with. Pickle here only ever reads bytes that the adapter made in this process
from botify's data (nothing read from Redis is unpickled), and `loads` builds no object but a
`Track` and plain values: bytes from anywhere else cannot run code through it.
"""

from __future__ import annotations

import io
import pickle
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Track:
    """A catalog track as the course's service stored it: its item-to-item list is the one the
    catalog's line carries (empty without one)."""

    track: int
    artist: str
    title: str
    recommendations: list[int] = field(default_factory=list)


class _RecordsOnly(pickle.Unpickler):
    """Unpickles plain values (lists, numbers, text) and Tracks, and refuses every other class."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == (__name__, "Track"):
            return Track
        raise pickle.UnpicklingError(
            f"{module}.{name}: botify unpickles only track records and plain values"
        )


def dumps(value: Any) -> bytes:
    """A value as a course database holds it (pickled)."""
    return pickle.dumps(value)


def loads(data: bytes) -> Any:
    """What `dumps` made: plain values and Tracks only."""
    return _RecordsOnly(io.BytesIO(data)).load()


class Catalog:
    """What a course recommender uses of the course's Catalog: `from_bytes` and `to_bytes`. The
    course's constructor took its Flask app; botify loads the data itself (`botify load`)."""

    def __init__(self, app: object = None):
        self.app = app

    def to_bytes(self, instance: Any) -> bytes:
        return dumps(instance)

    def from_bytes(self, bts: bytes) -> Any:
        return loads(bts)
