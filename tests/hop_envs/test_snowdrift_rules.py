"""Hand-built rule tests of the Markov Snowdrift (DESIGN §3.2): a fixed state, a joint
action, the exact outcome.

Actions: 0 up, 1 down, 2 left, 3 right, 4 stay, 5 remove. Drifts are numbered in the order
their cells are given.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from env_test_helpers import hand_env, hand_state

from hop_envs import MarkovSnowdriftEnv, SnowdriftConfig, SnowdriftRules

UP, DOWN, LEFT, RIGHT, STAY, REMOVE = range(6)

OPEN_4x4 = """
....
....
....
....
"""


def rules(num_players: int, num_drifts: int, **kw: Any) -> SnowdriftRules:
    kw.setdefault("grid_size", 4)
    return SnowdriftRules(SnowdriftConfig(num_players=num_players, num_drifts=num_drifts, **kw))


def as_list(array: np.ndarray) -> list:
    return array.tolist()


# -- rewards -------------------------------------------------------------------------------------
def test_lone_remover_nets_two_and_bystanders_get_six() -> None:
    r = rules(4, 2)
    s = hand_state(r, OPEN_4x4, players=[(1, 1), (0, 0), (2, 2), (3, 3)], objects=[(1, 1), (3, 3)])
    out = r.step(s, [REMOVE, STAY, RIGHT, STAY])
    assert as_list(out.rewards) == [2.0, 6.0, 6.0, 6.0]
    assert as_list(out.target) == [0, -1, -1, -1]
    assert as_list(s.object_alive) == [False, True]
    assert as_list(out.terminated) == [False] * 4 and as_list(out.truncated) == [False] * 4


def test_two_removers_of_one_drift_net_four_each() -> None:
    r = rules(4, 2)
    s = hand_state(r, OPEN_4x4, players=[(2, 1), (2, 1), (2, 1), (0, 0)], objects=[(2, 1), (0, 3)])
    out = r.step(s, [REMOVE, REMOVE, STAY, UP])
    assert as_list(out.rewards) == [4.0, 4.0, 6.0, 6.0]
    assert as_list(out.target) == [0, 0, -1, -1]


def test_two_drifts_removed_in_one_step_pay_everybody_twice() -> None:
    r = rules(3, 3)
    s = hand_state(r, OPEN_4x4, players=[(0, 0), (3, 3), (1, 1)], objects=[(0, 0), (3, 3), (2, 2)])
    out = r.step(s, [REMOVE, REMOVE, STAY])
    assert as_list(out.rewards) == [8.0, 8.0, 12.0]
    assert as_list(out.target) == [0, 1, -1]
    assert as_list(s.object_alive) == [False, False, True]


def test_custom_reward_and_cost() -> None:
    r = rules(3, 1, removal_reward=3.0, removal_cost=9.0)
    s = hand_state(r, OPEN_4x4, players=[(1, 2), (1, 2), (1, 2)], objects=[(1, 2)])
    out = r.step(s, [REMOVE, REMOVE, REMOVE])
    assert as_list(out.rewards) == [0.0, 0.0, 0.0]  # 3 - 9 / 3


def test_prosocial_gives_everyone_the_mean() -> None:
    r = rules(4, 2, reward_mode="prosocial")
    s = hand_state(r, OPEN_4x4, players=[(1, 1), (0, 0), (2, 2), (3, 3)], objects=[(1, 1), (3, 3)])
    out = r.step(s, [REMOVE, STAY, STAY, STAY])
    assert as_list(out.rewards) == [5.0] * 4  # (2 + 6 + 6 + 6) / 4


def test_remove_off_a_drift_is_illegal_and_runs_as_stay() -> None:
    r = rules(2, 1)
    s = hand_state(r, OPEN_4x4, players=[(0, 1), (3, 0)], objects=[(0, 0)])
    out = r.step(s, [REMOVE, LEFT])
    assert as_list(out.illegal) == [True, True]
    assert as_list(out.rewards) == [0.0, 0.0]
    assert as_list(s.player_pos) == [1, 12]
    assert as_list(s.object_alive) == [True]


def test_players_never_leave_and_drifts_never_respawn() -> None:
    env = hand_env(
        MarkovSnowdriftEnv,
        OPEN_4x4,
        players=[(0, 0), (3, 3)],
        objects=[(0, 0), (2, 2), (1, 3)],
        num_players=2,
        num_drifts=3,
        max_cycles=20,
    )
    env.step({"player_0": REMOVE, "player_1": UP})
    assert env.agents == ["player_0", "player_1"]
    rng = np.random.default_rng(1)
    for _ in range(10):
        obs, *_ = env.step({a: int(rng.integers(0, 5)) for a in env.agents})
        assert env.agents == ["player_0", "player_1"]
        assert env.core_state.object_alive.tolist() == [False, True, True]
        drifts = obs["player_0"]["observation"][3]
        assert drifts.sum() == 2 and drifts[0, 0] == 0


def test_walls_block_moves_in_the_snowdrift_too() -> None:
    r = SnowdriftRules(SnowdriftConfig(num_players=2, height=2, width=3, num_drifts=1))
    s = hand_state(r, ".#.\n...", players=[(0, 0), (1, 1)], objects=[(0, 2)])
    out = r.step(s, [RIGHT, UP])
    assert as_list(out.illegal) == [True, True]
    assert as_list(s.player_pos) == [0, 4]


# -- masks -----------------------------------------------------------------------------------------
def test_masks_of_a_hand_built_position() -> None:
    r = SnowdriftRules(SnowdriftConfig(num_players=3, height=2, width=3, num_drifts=2))
    s = hand_state(r, "..#\n...", players=[(0, 1), (1, 2), (1, 0)], objects=[(0, 1), (1, 0)])
    #                      up down left right stay remove
    assert r.action_masks(s).tolist() == [
        [0, 1, 1, 0, 1, 1],  # (0,1) on a drift, wall to the right
        [0, 0, 1, 0, 1, 0],  # (1,2): wall above, edges below and right
        [1, 0, 0, 1, 1, 1],  # (1,0) on a drift
    ]


# -- end of the episode ------------------------------------------------------------------------
def test_removing_the_last_drift_terminates_everyone() -> None:
    env = hand_env(
        MarkovSnowdriftEnv,
        OPEN_4x4,
        players=[(1, 1), (2, 2), (0, 0)],
        objects=[(1, 1), (2, 2)],
        num_players=3,
        num_drifts=2,
    )
    _, rewards, terms, truncs, _ = env.step(
        {"player_0": REMOVE, "player_1": REMOVE, "player_2": STAY}
    )
    assert rewards == {"player_0": 8.0, "player_1": 8.0, "player_2": 12.0}
    assert terms == dict.fromkeys(["player_0", "player_1", "player_2"], True)
    assert truncs == dict.fromkeys(["player_0", "player_1", "player_2"], False)
    assert env.agents == []
    assert env.core_state.over


def test_max_cycles_truncates_everyone() -> None:
    r = rules(2, 1, max_cycles=3)
    s = hand_state(r, OPEN_4x4, players=[(0, 0), (1, 1)], objects=[(3, 3)])
    for t in (1, 2):
        out = r.step(s, [STAY, RIGHT])
        assert as_list(out.truncated) == [False, False] and not s.over and s.t == t
    out = r.step(s, [STAY, STAY])
    assert as_list(out.truncated) == [True, True]
    assert as_list(out.terminated) == [False, False]
    assert s.over
    with pytest.raises(RuntimeError, match="finished"):
        r.step(s, [STAY, STAY])


def test_clearing_on_the_last_step_is_termination_not_truncation() -> None:
    r = rules(2, 1, max_cycles=1)
    s = hand_state(r, OPEN_4x4, players=[(3, 3), (1, 1)], objects=[(3, 3)])
    out = r.step(s, [REMOVE, STAY])
    assert as_list(out.terminated) == [True, True]
    assert as_list(out.truncated) == [False, False]


# -- observations and infos ----------------------------------------------------------------------
def test_observation_channel_order_seen_from_each_seat() -> None:
    env = hand_env(
        MarkovSnowdriftEnv,
        "..#.\n....\n#...",
        players=[(0, 0), (1, 1), (2, 3), (0, 3)],
        objects=[(1, 3), (2, 1)],
        num_players=4,
        num_drifts=2,
    )
    obs, *_ = env.step(dict.fromkeys(env.agents, STAY))
    cells = [(0, 0), (1, 1), (2, 3), (0, 3)]
    for seat in range(4):
        grid = obs[f"player_{seat}"]["observation"]
        assert grid.shape == (6, 3, 4)
        for channel in range(4):
            other = (seat + channel) % 4
            expected = np.zeros((3, 4), dtype=np.uint8)
            expected[cells[other]] = 1
            assert np.array_equal(grid[channel], expected), (seat, channel)
        assert np.argwhere(grid[4]).tolist() == [[0, 2], [2, 0]]
        assert np.argwhere(grid[5]).tolist() == [[1, 3], [2, 1]]
    state = env.state()
    assert [np.argwhere(state[i]).tolist() for i in range(4)] == [[[r, c]] for r, c in cells]


def test_infos_carry_the_removed_drift_and_its_cell() -> None:
    env = hand_env(
        MarkovSnowdriftEnv,
        OPEN_4x4,
        players=[(0, 0), (2, 3), (2, 3), (3, 0)],
        objects=[(1, 1), (0, 0), (2, 3)],
        num_players=4,
        num_drifts=3,
    )
    _, _, _, _, infos = env.step(
        {"player_0": REMOVE, "player_1": REMOVE, "player_2": REMOVE, "player_3": DOWN}
    )
    assert infos == {
        "player_0": {"removed_drift": 1, "drift_cell": (0, 0), "illegal_action": False},
        "player_1": {"removed_drift": 2, "drift_cell": (2, 3), "illegal_action": False},
        "player_2": {"removed_drift": 2, "drift_cell": (2, 3), "illegal_action": False},
        "player_3": {"removed_drift": None, "drift_cell": None, "illegal_action": True},
    }


def test_max_cycles_through_the_env() -> None:
    env = hand_env(
        MarkovSnowdriftEnv,
        OPEN_4x4,
        players=[(0, 0), (1, 1)],
        objects=[(3, 3)],
        num_players=2,
        num_drifts=1,
        max_cycles=2,
    )
    obs, _, terms, truncs, _ = env.step({"player_0": STAY, "player_1": DOWN})
    assert truncs == {"player_0": False, "player_1": False} and obs["player_1"]["step"] == 1
    obs, _, terms, truncs, _ = env.step({"player_0": STAY, "player_1": STAY})
    assert truncs == {"player_0": True, "player_1": True}
    assert terms == {"player_0": False, "player_1": False}
    assert obs["player_0"]["step"] == 2
    assert env.agents == []
