"""What an agent is: it recommends the next track of a session, gymnasium-style.

`recommend(observation, reward, info)` gets the env's observation `{"user", "track"}` (the
track playing now) and the listened fraction of that track (1.0 for a session's first track,
as the course's clients send it) and returns the next track id; `end_session` is told the last
observation and reward when the session ends. An agent that needs the hidden world (the
oracle) is given the env by `attach` before its first session."""

from __future__ import annotations

from typing import Any

from sim.env import RecEnv

FIRST_REWARD = 1.0


class Agent:
    name = "agent"

    def attach(self, env: RecEnv) -> None:
        """Called once per env the agent will serve; most agents need nothing from it."""

    def recommend(self, observation: dict[str, int], reward: float, info: dict[str, Any]) -> int:
        raise NotImplementedError

    def end_session(self, observation: dict[str, int], reward: float, info: dict[str, Any]) -> None:
        """The session ended (the course's POST /last)."""

    def close(self) -> None:
        """Release what the agent holds (connections, files)."""


class SessionCounter:
    """Counts each user's steps within the current session, for agents whose choice is a pure
    function of (seed, user, track, step): such an agent is deterministic however sessions
    are interleaved or split across processes."""

    def __init__(self) -> None:
        self._steps: dict[int, int] = {}

    def next(self, user: int) -> int:
        step = self._steps.get(user, 0)
        self._steps[user] = step + 1
        return step

    def end(self, user: int) -> None:
        self._steps.pop(user, None)


_MASK = (1 << 64) - 1


def mix(*values: int) -> int:
    """A 64-bit hash of some integers (splitmix64 steps): cheap, stable pseudo-randomness."""
    state = 0x9E3779B97F4A7C15
    for value in values:
        state = (state ^ (value & _MASK)) * 0xBF58476D1CE4E5B9 & _MASK
        state = (state ^ (state >> 31)) * 0x94D049BB133111EB & _MASK
        state ^= state >> 29
    return state
