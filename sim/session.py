"""Drive sessions: an agent recommends, the env's user listens, until the session ends.

Local agents run one session at a time; the remote agent runs many at once (see
sim.agents.remote). Either way each session is `run_session`'s loop over the gymnasium API,
seeded by the schedule, so the results do not depend on how sessions were driven."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sim.agents.base import FIRST_REWARD, Agent
from sim.env import RecEnv
from sim.schedule import Visit


@dataclass(frozen=True, slots=True)
class SessionResult:
    day: int
    episode: int
    user: int
    time: float  # the sum of listened fractions
    length: int  # recommendations played
    error: str | None = None  # the session was cut short by a bad answer


def run_session(env: RecEnv, agent: Agent, day: int, visit: Visit) -> SessionResult:
    observation, info = env.reset(seed=visit.seed, options={"user": visit.user})
    reward = FIRST_REWARD
    total, steps = 0.0, 0
    while True:
        action = agent.recommend(observation, reward, info)
        observation, reward, terminated, truncated, info = env.step(action)
        total += reward
        steps += 1
        if terminated or truncated:
            break
    agent.end_session(observation, reward, info)
    return SessionResult(day, visit.episode, visit.user, total, steps)


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
