"""Many sessions in flight at once, for the remote agent: a pool of slots on one event loop,
each with its own env and keep-alive connection, each taking the next user's visits of the day
and running them in order (so one user is never in two sessions at once). Different users are
independent, so while one slot waits for the service the others go on."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterable

from sim.agents.base import FIRST_REWARD
from sim.agents.remote import BadAnswer, RemoteAgent, Slot
from sim.env import RecEnv
from sim.runner import RunStopped, SessionResult
from sim.schedule import Visit


async def run_session_async(env: RecEnv, slot: Slot, day: int, visit: Visit) -> SessionResult:
    observation, info = env.reset(seed=visit.seed, options={"user": visit.user})
    reward = FIRST_REWARD
    total, steps = 0.0, 0
    try:
        while True:
            action = await slot.recommend(observation, reward, info)
            observation, reward, terminated, truncated, info = env.step(action)
            total += reward
            steps += 1
            if terminated or truncated:
                break
        await slot.end_session(observation, reward, info)
    except BadAnswer as error:
        return SessionResult(day, visit.episode, visit.user, total, steps, str(error))
    return SessionResult(day, visit.episode, visit.user, total, steps)


async def _run(
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
        asyncio.run(_run(make_env, agent, day, users, progress, results))
    except* Exception as group:
        # the first failure is the cause; the others are slots cancelled along with it
        first = group.exceptions[0]
        while isinstance(first, ExceptionGroup):
            first = first.exceptions[0]
        raise RunStopped(first, sorted(results, key=lambda r: r.episode)) from None
    return sorted(results, key=lambda r: r.episode)
