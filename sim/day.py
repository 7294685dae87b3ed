"""One process's day of sessions: the agent, its env(s), and the right way to drive them.

Local agents run one session at a time. The remote agent runs many in flight: a pool of slots
on one event loop, each with its own env and keep-alive connection, each taking the next user's
visits of the day and running them in order (so one user is never in two sessions at once).
Different users are independent, so while one slot waits for the service the others go on."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterable

from sim.agents import make_agent
from sim.agents.base import Agent
from sim.agents.remote import RemoteAgent, RemoteStats
from sim.config import SimConfig
from sim.env import RecEnv
from sim.schedule import Visit, plan_day
from sim.session import SessionResult, run_session, run_session_async
from sim.world import World


class RunStopped(Exception):
    """An error stopped the run; `results` holds the sessions completed before it."""

    def __init__(self, error: BaseException, results: list[SessionResult]) -> None:
        super().__init__(str(error))
        self.error = error
        self.results = results


def run_visits(
    env: RecEnv,
    agent: Agent,
    day: int,
    users: Iterable[list[Visit]],
    progress: Callable[[int], None] = lambda done: None,
) -> list[SessionResult]:
    """Sessions one at a time, each user's in order."""
    agent.attach(env)
    results: list[SessionResult] = []
    try:
        for visits in users:
            for visit in visits:
                results.append(run_session(env, agent, day, visit))
                progress(1)
    except Exception as error:
        raise RunStopped(error, results) from error
    return results


async def _run_in_flight(
    make_env: Callable[[], RecEnv],
    agent: RemoteAgent,
    day: int,
    users: Iterable[list[Visit]],
    progress: Callable[[int], None],
    results: list[SessionResult],
) -> None:
    queue = deque(users)

    async def worker() -> None:
        env, slot = make_env(), agent.slot()
        try:
            while queue:
                for visit in queue.popleft():
                    results.append(await run_session_async(env, slot, day, visit))
                    progress(1)
        finally:
            await slot.close()

    async with asyncio.TaskGroup() as group:
        for _ in range(min(agent.sessions_in_flight, len(queue))):
            group.create_task(worker())


def run_visits_in_flight(
    make_env: Callable[[], RecEnv],
    agent: RemoteAgent,
    day: int,
    users: Iterable[list[Visit]],
    progress: Callable[[int], None] = lambda done: None,
) -> list[SessionResult]:
    results: list[SessionResult] = []
    try:
        asyncio.run(_run_in_flight(make_env, agent, day, users, progress, results))
    except* Exception as group:
        # the first failure is the cause; the others are slots cancelled along with it
        first = group.exceptions[0]
        while isinstance(first, ExceptionGroup):
            first = first.exceptions[0]
        raise RunStopped(first, sorted(results, key=lambda r: r.episode)) from None
    return sorted(results, key=lambda r: r.episode)


class Driver:
    """Drives this process's share of each day (users u with u % shards == shard)."""

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
