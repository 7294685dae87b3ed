"""The Gymnasium environment: one episode is one listening session.

Observation `{"user", "track"}` (the track playing now), action the id of the next track to
play, reward its listened fraction, `terminated` when the session's budget is spent and
`truncated` only at the optional `max_session_steps` cap.

`reset(seed=..., options={"user": u})` starts a session of user u; without a user one is drawn
uniformly, as the course does. All of a session's randomness comes from `self.np_random`, so a
seeded reset makes the session reproducible whatever ran before it."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
from gymnasium import spaces

from sim.user import ListeningSession
from sim.world import World


class RecEnv(gym.Env):
    # text rendering: the fps is nominal, declared so that the checkers need not guess
    metadata = {"render_modes": ["human", "ansi"], "render_fps": 4}

    def __init__(
        self,
        world: World,
        max_session_steps: int | None = None,
        render_mode: str | None = None,
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"unknown render mode {render_mode!r}")
        self.world = world
        self.max_session_steps = max_session_steps
        self.render_mode = render_mode
        self.action_space = spaces.Discrete(world.n_tracks)
        self.observation_space = spaces.Dict(
            {"user": spaces.Discrete(world.n_users), "track": spaces.Discrete(world.n_tracks)}
        )
        self.session: ListeningSession | None = None

    def _observation(self) -> dict[str, int]:
        assert self.session is not None
        return {"user": self.session.user, "track": self.session.track}

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, int], dict[str, Any]]:
        super().reset(seed=seed)
        world, rng = self.world, self.np_random
        user = (options or {}).get("user")
        if user is None:
            user = int(rng.integers(world.n_users))
        elif not 0 <= user < world.n_users:
            raise ValueError(f"user {user} is not in the world (0..{world.n_users - 1})")
        params = world.users[user]
        interests = world.interests[user]
        interest = interests[int(rng.integers(len(interests)))]
        nearest = world.neighbours.nearest(interest, params.interest_neighbours)
        first = nearest[int(rng.integers(len(nearest)))]
        self.session = ListeningSession(
            user, params, interest, first, world.embeddings, world.track_artist, rng
        )
        if self.render_mode == "human":
            self.render()
        return self._observation(), {}

    def step(self, action: int) -> tuple[dict[str, int], float, bool, bool, dict[str, Any]]:
        session = self.session
        if session is None or session.finished:
            raise RuntimeError("the session has ended: call reset() first")
        try:
            track = int(action)
        except (TypeError, ValueError):
            track = -1
        if track != action or not 0 <= track < self.world.n_tracks:
            raise ValueError(f"action {action!r} is not a track id (0..{self.world.n_tracks - 1})")
        reward = session.consume(track)
        terminated = session.finished
        cap = self.max_session_steps
        truncated = not terminated and cap is not None and session.steps >= cap
        if self.render_mode == "human":
            self.render()
        return self._observation(), reward, terminated, truncated, {}

    def render(self) -> str | None:
        session = self.session
        if session is None:
            text = "no session"
        else:
            text = (
                f"user {session.user}: now {self.world.describe(session.track)}, "
                f"{session.steps} steps, time {session.total_time:.2f}, budget {session.budget}"
            )
        if self.render_mode == "ansi":
            return text
        print(text)
        return None


ENV_ID = "botify/RecEnv-v0"
if ENV_ID not in gym.registry:
    # gymnasium.make(ENV_ID, world=load_world(...)) gives the env a spec (and the checkers)
    gym.register(id=ENV_ID, entry_point="sim.env:RecEnv")
