"""Event logs for the dashboard's tests: lab.synthetic's traffic as the service writes it, as
bytes, so a test can write part of it, open the page and append the rest."""

from __future__ import annotations

from lab.synthetic import json_lines, make_users, simulate, to_frame

EXPERIMENT = "AB"


def log_lines(users: int = 300, seed: int = 0, effect: float = 0.05) -> list[bytes]:
    """One period's events, one JSON line (with its newline) each, in time order: experiment AB
    (C, T1; T1's listened fractions up by `effect`) and OTHER (three arms) logged alongside."""
    events = simulate(
        make_users(users, seed), {EXPERIMENT: 2, "OTHER": 3}, seed=seed + 1, effects={"T1": effect}
    )
    return json_lines(to_frame(events)).splitlines(keepends=True)
