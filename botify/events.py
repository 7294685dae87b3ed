"""The event record: one JSON object per accepted /next and /last, the one owner of its fields.

The course's notebooks read the log with `pandas.read_json(path, lines=True)` and count every
line as a track event, so `message` keeps exactly the values "next" and "last" and the course's
fields keep their meaning (`latency`: the request's wall time in the service). botify adds
`work_time`: the seconds the service worked on the request (under gevent, `latency` less what
the worker did meanwhile for other requests: botify.worktime), `recommender`: the chain link
that answered (null on `last`), `failed`: the links before it that raised or answered no catalog
track (empty when none did), `data_version`: the data version the request was served from,
and `propensity`: the probability with which the chain chose the recommended track (null on
`last`, and for a recommender of one's own that does not state it), for off-policy evaluation.
"""

from __future__ import annotations

from typing import Any

MESSAGES = ("next", "last")

# Each field and the type of its value; `recommendation` and `recommender` are null on `last`.
FIELDS: dict[str, type] = {
    "message": str,
    "timestamp": int,  # milliseconds since the epoch
    "user": int,
    "track": int,
    "time": float,  # the listened fraction of `track`
    "latency": float,  # the request's wall time in the service, seconds (the course's meaning)
    "work_time": float,  # seconds the service worked on it: `latency` less other requests' work
    "recommendation": int,
    "experiments": dict,  # experiment name -> the user's arm
    "recommender": str,
    "failed": list,  # names of chain links
    "data_version": str,
    "propensity": float,
}


def make_event(
    message: str,
    timestamp: int,
    user: int,
    track: int,
    time: float,
    latency: float,
    work_time: float,
    recommendation: int | None,
    experiments: dict[str, str],
    recommender: str | None,
    failed: list[str],
    data_version: str,
    propensity: float | None,
) -> dict[str, Any]:
    return {
        "message": message,
        "timestamp": timestamp,
        "user": user,
        "track": track,
        "time": time,
        "latency": latency,
        "work_time": work_time,
        "recommendation": recommendation,
        "experiments": experiments,
        "recommender": recommender,
        "failed": failed,
        "data_version": data_version,
        "propensity": propensity,
    }
