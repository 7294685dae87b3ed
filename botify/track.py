"""The names a course recommender file imports as `from botify.track import Catalog, Track`, so
that the file runs in botify unchanged (see botify.recommenders.course_adapter).

`Track` is the record that a course class gets, pickled, from its track database; `Catalog` is the
helper it unpickles with. Pickle here only ever reads bytes that the adapter made in this process
from botify's data: nothing read from Redis is unpickled.
"""

from __future__ import annotations

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


class Catalog:
    """What a course recommender uses of the course's Catalog: `from_bytes` and `to_bytes`. The
    course's constructor took its Flask app; botify loads the data itself (`botify load`)."""

    def __init__(self, app: object = None):
        self.app = app

    def to_bytes(self, instance: Any) -> bytes:
        return pickle.dumps(instance)

    def from_bytes(self, bts: bytes) -> Any:
        return pickle.loads(bts)  # only the adapter's own bytes reach this
