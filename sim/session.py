"""One session and its result: an agent recommends, the env's user listens, until the session
ends.

The loop over the gymnasium API (reset with the visit's seed, step, totals, the result) is
`SessionSteps`, written once; `run_session` drives it with a local agent and
`run_session_async` with a remote slot, which awaits each answer. Either way a session is
seeded by the schedule, so its result does not depend on how sessions were driven."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sim.agents.base import FIRST_REWARD, Agent
from sim.agents.remote import BadAnswer, Slot
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


class SessionSteps:
    """A visit's session in the env. `told` is what the agent is told now (observation, reward,
    info), `play` steps the env with the agent's track, `over` says when the session ended."""

    def __init__(self, env: RecEnv, day: int, visit: Visit) -> None:
        self.env, self.day, self.visit = env, day, visit
        observation, info = env.reset(seed=visit.seed, options={"user": visit.user})
        self.told: tuple[dict[str, int], float, dict[str, Any]] = (observation, FIRST_REWARD, info)
        self.total, self.steps = 0.0, 0
        self.over = False

    def play(self, track: int) -> None:
        observation, reward, terminated, truncated, info = self.env.step(track)
        self.told = (observation, reward, info)
        self.total += reward
        self.steps += 1
        self.over = terminated or truncated

    def result(self, error: str | None = None) -> SessionResult:
        visit = self.visit
        return SessionResult(self.day, visit.episode, visit.user, self.total, self.steps, error)


def run_session(env: RecEnv, agent: Agent, day: int, visit: Visit) -> SessionResult:
    session = SessionSteps(env, day, visit)
    while not session.over:
        session.play(agent.recommend(*session.told))
    agent.end_session(*session.told)
    return session.result()


async def run_session_async(env: RecEnv, slot: Slot, day: int, visit: Visit) -> SessionResult:
    """A bad answer from the service cuts the session short: its result says why."""
    session = SessionSteps(env, day, visit)
    try:
        while not session.over:
            session.play(await slot.recommend(*session.told))
        await slot.end_session(*session.told)
    except BadAnswer as error:
        return session.result(str(error))
    return session.result()
