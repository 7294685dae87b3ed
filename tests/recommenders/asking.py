"""Asking a recommender as the service does, in a request: its reads fetched up front and the
request's own listen in the user's state it reads, without keeping that listen (the tests record
each step themselves, with the answer they choose)."""

from __future__ import annotations

import copy

from botify.data import DataView, Listen


def ask(data: DataView, recommender, user: int, track: int, time: float):
    store = data.store  # a botify.inprocess.MemoryStore
    kept = copy.deepcopy((store.histories, store.sessions))
    try:
        with data.request(
            recommender.reads(user, track), Listen(user, track, time, recommender.state)
        ):
            return recommender.recommend_next(user, track, time)
    finally:
        store.histories, store.sessions = kept
