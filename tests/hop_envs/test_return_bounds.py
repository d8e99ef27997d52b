"""Per-player episode return bounds of the rules (used to keep report bands feasible)."""

from __future__ import annotations

import numpy as np
import pytest

import hop_envs


def bounds(env_id: str, **kwargs):
    return hop_envs.make(env_id, **kwargs).unwrapped.rules.return_bounds()


def test_stag_hunt_bounds_hand_worked():
    # Selfish: one capture at most, worth at most the stag's 10.
    assert bounds("MarkovStagHunt-v0") == (0.0, 10.0)
    # Prosocial: the mean of all prey, (2 * 10 + 4 * 1) / 2 = 12 for two players.
    assert bounds("MarkovStagHunt-v0", num_players=2, num_stags=2, reward_mode="prosocial") == (
        0.0,
        12.0,
    )
    # A time reward of -0.1 for 35 steps can take a player to -3.5.
    assert bounds("MarkovStagHunt-v0", time_reward=-0.1) == pytest.approx((-3.5, 10.0))


def test_snowdrift_bounds_hand_worked():
    # 6 drifts pay everyone 6 each: 36 at most; nobody pays more than they get (6 > 4).
    assert bounds("MarkovSnowdrift-v0") == (0.0, 36.0)
    # Removal costlier than its reward: a lone remover of 3 drifts nets 3 * (2 - 5) = -9.
    assert bounds("MarkovSnowdrift-v0", num_drifts=3, removal_reward=2.0, removal_cost=5.0) == (
        -9.0,
        6.0,
    )


@pytest.mark.parametrize("env_id", hop_envs.ENV_IDS)
def test_random_play_stays_within_the_bounds(env_id):
    env = hop_envs.make(env_id)
    low, high = env.unwrapped.rules.return_bounds()
    rng = np.random.default_rng(0)
    for episode in range(20):
        observations, _ = env.reset(seed=episode)
        totals = dict.fromkeys(env.possible_agents, 0.0)
        while env.agents:
            actions = {
                a: int(rng.choice(np.flatnonzero(observations[a]["action_mask"])))
                for a in env.agents
            }
            observations, rewards, *_ = env.step(actions)
            for a, r in rewards.items():
                totals[a] += r
        assert all(low <= t <= high for t in totals.values())
