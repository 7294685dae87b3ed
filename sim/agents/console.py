"""The `console` agent: a person recommends. Each step shows the track playing (by title and
artist) and how much of it the user listened to, and reads the next track id from the
keyboard; 'q' (or end of input) stops the run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sim.agents.base import Agent
from sim.world import World


class StopRun(Exception):
    """The person at the console asked to stop."""


class ConsoleAgent(Agent):
    name = "console"

    def __init__(
        self,
        world: World,
        read: Callable[[str], str] = input,
        write: Callable[[str], None] = print,
    ) -> None:
        self.world = world
        self.read = read
        self.write = write

    def recommend(self, observation: dict[str, int], reward: float, info: dict[str, Any]) -> int:
        user, track = observation["user"], observation["track"]
        self.write(
            f"user {user} listened to {reward:.0%} of track {track}: {self.world.describe(track)}"
        )
        while True:
            try:
                answer = self.read(
                    f"next track for user {user} (0..{self.world.n_tracks - 1}, q to quit): "
                )
            except EOFError:
                raise StopRun from None
            answer = answer.strip()
            if answer.lower() in ("q", "quit", "exit"):
                raise StopRun
            if answer.isdigit() and int(answer) < self.world.n_tracks:
                choice = int(answer)
                self.write(f"  playing {self.world.describe(choice)}")
                return choice
            self.write(f"  {answer!r} is not a track id of the catalog")

    def end_session(self, observation: dict[str, int], reward: float, info: dict[str, Any]) -> None:
        track = observation["track"]
        self.write(
            f"user {observation['user']} listened to {reward:.0%} of "
            f"{self.world.describe(track)} and ended the session"
        )
