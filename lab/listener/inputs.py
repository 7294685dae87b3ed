"""What the listener page's visitors send, checked: a user id of the simulated world and a listened
fraction. Values come as JSON (numbers) from scripts or as form fields (text) from the page; each
problem is a `BadInput` naming the field, answered 4xx by the app. The fraction is refused, not
clamped, outside [0, 1], as the service itself refuses it (botify.validation)."""

from __future__ import annotations

import math


class BadInput(ValueError):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _shown(raw: object) -> str:
    return repr(raw)[:40]


def parse_user(raw: object, n_users: int) -> int:
    """A user id of the world, 0..n_users-1: an integer, or its decimal digits."""
    if isinstance(raw, str) and raw.strip().isdigit() and raw.strip().isascii():
        value: object = int(raw.strip())
    else:
        value = raw
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadInput(f"user: must be a user id, a whole number, got {_shown(raw)}")
    if not 0 <= value < n_users:
        raise BadInput(f"user: {value} is not a user of the simulated world (0..{n_users - 1})")
    return value


def parse_time(raw: object) -> float:
    """The listened fraction of the track playing: a number from 0 to 1."""
    value: object = raw
    if isinstance(raw, str):
        try:
            value = float(raw)
        except ValueError:
            value = raw
    if isinstance(value, bool) or not isinstance(value, int | float):
        if raw is None or raw == "":
            raise BadInput("time: missing; say how much of the track was listened to (0 to 1)")
        raise BadInput(
            f"time: must be the listened fraction, a number from 0 to 1, got {_shown(raw)}"
        )
    if not math.isfinite(value) or not 0 <= value <= 1:
        raise BadInput(f"time: must be the listened fraction, from 0 to 1, got {value}")
    return float(value)
