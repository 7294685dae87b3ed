"""The Gymnasium environment."""

from __future__ import annotations

import warnings

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

from sim.env import ENV_ID, RecEnv


@pytest.mark.parametrize("render_mode", [None, "ansi"])
def test_passes_gymnasiums_env_checker_without_warnings(world, render_mode):
    env = gym.make(ENV_ID, world=world, render_mode=render_mode)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any checker warning fails the test
        check_env(env.unwrapped)


def test_spaces_observation_and_reward(world):
    env = RecEnv(world)
    assert env.action_space == gym.spaces.Discrete(world.n_tracks)
    observation, info = env.reset(seed=3)
    assert env.observation_space.contains(observation)
    assert set(observation) == {"user", "track"} and info == {}
    user = observation["user"]
    observation, reward, terminated, truncated, info = env.step(observation["track"])
    # a repeat: listened to 0, the user unchanged, the observation the track just played
    assert reward == 0.0 and observation["user"] == user and isinstance(reward, float)
    assert terminated in (True, False) and truncated is False


def test_seeded_reset_reproduces_the_session(world):
    def play(seed: int) -> list:
        env = RecEnv(world)
        observation, _ = env.reset(seed=seed, options={"user": 17})
        trace = [observation]
        for step in range(50):
            observation, reward, terminated, _, _ = env.step((observation["track"] + step) % 97)
            trace.append((observation, reward))
            if terminated:
                break
        return trace

    assert play(5) == play(5)
    assert play(5) != play(6)


def test_reset_without_user_draws_one(world):
    env = RecEnv(world)
    users = {env.reset(seed=seed)[0]["user"] for seed in range(30)}
    assert len(users) > 20


def test_bad_actions_and_users_are_clear_errors(world):
    env = RecEnv(world)
    env.reset(seed=0)
    for action in (-1, world.n_tracks, 2.5, "7", None):
        with pytest.raises(ValueError, match="not a track id"):
            env.step(action)
    with pytest.raises(ValueError, match="not in the world"):
        env.reset(options={"user": world.n_users})


def test_max_session_steps_truncates(world):
    env = RecEnv(world, max_session_steps=2)
    observation, _ = env.reset(seed=1, options={"user": 2})
    # a budget of 5 cannot be spent in 2 steps: the cap ends the session
    assert env.step(observation["track"])[2:4] == (False, False)
    assert env.step(observation["track"])[2:4] == (False, True)


def test_render_ansi_names_the_track(world):
    env = RecEnv(world, render_mode="ansi")
    observation, _ = env.reset(seed=0)
    text = env.render()
    assert f"user {observation['user']}" in text and world.describe(observation["track"]) in text
