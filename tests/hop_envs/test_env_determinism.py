"""One seed reproduces everything: 1000 joint steps over many episodes, step for step."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from env_test_helpers import legal_actions
from gymnasium.utils.env_checker import data_equivalence

import hop_envs

ENV_NAMES = sorted(hop_envs.ENV_IDS)
JOINT_STEPS = 1000


def _trajectory(env_name: str, seed: int, action_seed: int, **kwargs: Any) -> list[tuple]:
    """Everything the env returns over ``JOINT_STEPS`` joint steps; only the first reset is
    seeded, later episodes continue the env's own RNG."""
    env = hop_envs.make(env_name, **kwargs)
    rng = np.random.default_rng(action_seed)
    obs, infos = env.reset(seed=seed)
    record: list[tuple] = [("reset", obs, infos, env.state())]
    for _ in range(JOINT_STEPS):
        if not env.agents:
            obs, infos = env.reset()
            record.append(("reset", obs, infos, env.state()))
        actions = legal_actions(rng, obs, env.agents)
        obs, rewards, terms, truncs, infos = env.step(actions)
        record.append(("step", actions, obs, rewards, terms, truncs, infos, env.state()))
    return record


def _first_difference(a: list[tuple], b: list[tuple]) -> int | None:
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        if not data_equivalence(x, y, exact=True):
            return i
    return None


@pytest.mark.parametrize("env_name", ENV_NAMES)
def test_same_seed_same_everything(env_name: str) -> None:
    first = _trajectory(env_name, seed=123, action_seed=7)
    second = _trajectory(env_name, seed=123, action_seed=7)
    episodes = sum(1 for entry in first if entry[0] == "reset")
    assert episodes >= 5, f"only {episodes} episodes in {JOINT_STEPS} steps"
    assert len(first) == len(second) == JOINT_STEPS + episodes
    assert _first_difference(first, second) is None


@pytest.mark.parametrize("env_name", ENV_NAMES)
def test_reseeding_a_used_env_replays_the_episode(env_name: str) -> None:
    env = hop_envs.make(env_name)
    fresh = hop_envs.make(env_name)
    env.reset(seed=5)
    env.step({a: 4 for a in env.agents})
    assert data_equivalence(env.reset(seed=99), fresh.reset(seed=99))
    assert np.array_equal(env.state(), fresh.state())


@pytest.mark.parametrize("env_name", ENV_NAMES)
def test_different_seed_different_episode(env_name: str) -> None:
    base = _trajectory(env_name, seed=123, action_seed=7)
    other_env_seed = _trajectory(env_name, seed=124, action_seed=7)
    other_action_seed = _trajectory(env_name, seed=123, action_seed=8)
    # A different env seed changes the very first reset (walls, prey/drifts, players).
    assert not np.array_equal(base[0][3], other_env_seed[0][3])
    assert _first_difference(base, other_env_seed) == 0
    # Same env seed, other actions: same first state, then the episodes part ways.
    assert np.array_equal(base[0][3], other_action_seed[0][3])
    assert _first_difference(base, other_action_seed) not in (None, 0)
