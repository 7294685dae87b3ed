"""The agents that recommend to the simulated users, by the name the command line uses."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.agents.base import Agent
from sim.config import SimConfig
from sim.world import World

if TYPE_CHECKING:
    from sim.agents.remote import RemoteAgent

# the course's agents, then reference baselines for calibration
AGENTS = ("remote", "dummy", "console", "oracle", "neighbours", "inprocess", "toppop", "sticky")


def make_agent(name: str, world: World, config: SimConfig, seed: int) -> Agent | RemoteAgent:
    """An Agent, or for "remote" a RemoteAgent (which runs sessions in flight)."""
    if name == "remote":
        from sim.agents.remote import RemoteAgent

        return RemoteAgent(config.remote, world.n_tracks)
    if name == "dummy":
        from sim.agents.dummy import DummyAgent

        return DummyAgent(world.n_tracks, seed)
    if name == "console":
        from sim.agents.console import ConsoleAgent

        return ConsoleAgent(world)
    if name == "oracle":
        from sim.agents.oracle import OracleAgent

        return OracleAgent()
    if name == "neighbours":
        from sim.agents.neighbours import NeighboursAgent

        return NeighboursAgent()
    if name == "inprocess":
        from sim.agents.inprocess import InprocessAgent

        return InprocessAgent(config.inprocess.config, config.inprocess.arm, seed, world.n_tracks)
    if name == "toppop":
        from sim.agents.reference import TopPopAgent

        return TopPopAgent(world, seed)
    if name == "sticky":
        from sim.agents.reference import StickyArtistAgent

        return StickyArtistAgent(world, seed)
    raise ValueError(f"unknown agent {name!r} (known: {', '.join(AGENTS)})")


__all__ = ["AGENTS", "Agent", "make_agent"]
