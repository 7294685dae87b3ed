"""Checking what clients send. Every problem is a `BadInput` whose message names the field.

Decisions: ids are integers from 0 to 2**63 - 1 (JSON booleans and floats such as 10.0 are not
ids); `time` is the listened fraction of the previous track, a finite number in [0, 1]: anything
else is rejected rather than clamped, because a client sending seconds or garbage would otherwise
silently corrupt every session-time metric. Unknown extra fields are ignored.
"""

from __future__ import annotations

import math

import ujson

MAX_ID = 2**63 - 1


class BadInput(ValueError):
    """A request the service refuses; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status


def parse_id(raw: str, name: str) -> int:
    """An id from the URL path: decimal digits only."""
    if not raw.isdigit() or not raw.isascii():
        raise BadInput(f"{name}: must be an integer from 0 to {MAX_ID}, got {raw[:40]!r}")
    value = int(raw)
    if value > MAX_ID:
        raise BadInput(f"{name}: must be an integer from 0 to {MAX_ID}, got {raw[:40]}")
    return value


def check_id(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadInput(f"{name}: must be an integer id, got {ujson.dumps(value)[:40]}")
    if not 0 <= value <= MAX_ID:
        raise BadInput(f"{name}: must be an integer from 0 to {MAX_ID}, got {value}")
    return value


def check_fraction(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadInput(f"{name}: must be a number in [0, 1], got {ujson.dumps(value)[:40]}")
    if not math.isfinite(value) or not 0 <= value <= 1:
        raise BadInput(f"{name}: must be the listened fraction, a number in [0, 1], got {value}")
    return float(value)


def parse_listen(body: bytes) -> tuple[int, float]:
    """The body of /next and /last: {"track": int, "time": float} -> (track, time)."""
    if not body:
        raise BadInput('body: expected a JSON object {"track": int, "time": float}, got nothing')
    try:
        payload = ujson.loads(body)
    except ValueError:
        raise BadInput('body: not valid JSON; expected {"track": int, "time": float}') from None
    if not isinstance(payload, dict):
        raise BadInput('body: expected a JSON object {"track": int, "time": float}')
    for field in ("track", "time"):
        if field not in payload:
            raise BadInput(f"{field}: missing from the body")
    return check_id(payload["track"], "track"), check_fraction(payload["time"], "time")
