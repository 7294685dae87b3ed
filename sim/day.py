"""A day of sessions for one process: the agent, its env(s), and the right way to drive them
(one at a time for local agents, many in flight for the remote one)."""

from __future__ import annotations

from collections.abc import Callable

from sim.agents import make_agent
from sim.agents.remote import RemoteAgent, RemoteStats
from sim.config import SimConfig
from sim.env import RecEnv
from sim.inflight import run_visits_in_flight
from sim.runner import SessionResult, run_visits
from sim.schedule import plan_day
from sim.world import World


class Driver:
    def __init__(
        self,
        world: World,
        config: SimConfig,
        agent_name: str,
        seed: int,
        episodes: int,
        shard: int = 0,
        shards: int = 1,
    ) -> None:
        self.world = world
        self.config = config
        self.seed = seed
        self.episodes = episodes
        self.shard, self.shards = shard, shards
        self.agent = make_agent(agent_name, world, config, seed)
        self._env: RecEnv | None = None

    def make_env(self) -> RecEnv:
        return RecEnv(self.world, self.config.user.max_session_steps)

    @property
    def remote_stats(self) -> RemoteStats | None:
        return self.agent.stats if isinstance(self.agent, RemoteAgent) else None

    def run_day(self, day: int, progress: Callable[[int], None]) -> list[SessionResult]:
        """The day's sessions in schedule order. Raises RunStopped with the sessions done so
        far if the run cannot go on."""
        users = plan_day(self.seed, day, self.episodes, self.world.n_users, self.shard, self.shards)
        if isinstance(self.agent, RemoteAgent):
            results = run_visits_in_flight(self.make_env, self.agent, day, users, progress)
        else:
            if self._env is None:
                self._env = self.make_env()
            results = run_visits(self._env, self.agent, day, users, progress)
        return sorted(results, key=lambda r: r.episode)

    def close(self) -> None:
        if not isinstance(self.agent, RemoteAgent):
            self.agent.close()
