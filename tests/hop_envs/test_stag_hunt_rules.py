"""Hand-built rule tests of the Markov Stag-Hunt (DESIGN §3.1): a fixed state, a joint
action, the exact outcome.

Actions: 0 up, 1 down, 2 left, 3 right, 4 stay, 5 hunt-stag, 6 hunt-hare. Objects are
numbered stags first, then hares, in the order their cells are given.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from env_test_helpers import flat, hand_env, hand_state

from hop_envs import MarkovStagHuntEnv, StagHuntConfig, StagHuntRules

UP, DOWN, LEFT, RIGHT, STAY, HUNT_STAG, HUNT_HARE = range(7)

OPEN_4x4 = """
....
....
....
....
"""


def rules(num_players: int, num_stags: int = 1, num_hares: int = 1, **kw: Any) -> StagHuntRules:
    kw.setdefault("grid_size", 4)
    return StagHuntRules(
        StagHuntConfig(
            num_players=num_players,
            num_stags=num_stags,
            num_hares=num_hares,
            num_wall_pieces=0,
            **kw,
        )
    )


def as_list(array: np.ndarray) -> list:
    return array.tolist()


# -- the stag --------------------------------------------------------------------------------
def test_two_hunters_on_the_stag_in_the_same_step_capture_it() -> None:
    r = rules(4)
    s = hand_state(r, OPEN_4x4, players=[(1, 1), (1, 1), (0, 0), (3, 0)], objects=[(1, 1), (3, 3)])
    out = r.step(s, [HUNT_STAG, HUNT_STAG, STAY, RIGHT])
    assert as_list(out.rewards) == [5.0, 5.0, 0.0, 0.0]
    assert as_list(out.terminated) == [True, True, False, False]
    assert as_list(out.truncated) == [False] * 4
    assert as_list(out.target) == [0, 0, -1, -1]
    assert as_list(out.failed) == [False] * 4
    assert as_list(s.object_alive) == [False, True]
    assert as_list(s.active) == [False, False, True, True]
    assert as_list(s.player_pos) == [5, 5, 0, 13]
    assert s.t == 1 and s.first_capture_t == 1 and not s.over


def test_stag_hunts_in_different_steps_both_fail() -> None:
    r = rules(2, num_hares=1)
    s = hand_state(r, OPEN_4x4, players=[(2, 2), (2, 2)], objects=[(2, 2), (0, 3)])
    first = r.step(s, [HUNT_STAG, STAY])
    second = r.step(s, [STAY, HUNT_STAG])
    assert as_list(first.failed) == [True, False]
    assert as_list(second.failed) == [False, True]
    for out in (first, second):
        assert as_list(out.rewards) == [0.0, 0.0]
        assert as_list(out.terminated) == [False, False]
        assert as_list(out.target) == [-1, -1]
        assert as_list(out.illegal) == [False, False]
    assert as_list(s.object_alive) == [True, True]
    assert as_list(s.active) == [True, True]
    assert s.first_capture_t == -1


def test_lone_stag_hunter_gets_nothing_fails_and_stays() -> None:
    env = hand_env(
        MarkovStagHuntEnv,
        OPEN_4x4,
        players=[(1, 2), (3, 3), (0, 0)],
        objects=[(1, 2), (3, 0)],
        num_players=3,
        num_stags=1,
        num_hares=1,
        num_wall_pieces=0,
    )
    _, rewards, terms, truncs, infos = env.step(
        {"player_0": HUNT_STAG, "player_1": STAY, "player_2": STAY}
    )
    assert rewards == {"player_0": 0.0, "player_1": 0.0, "player_2": 0.0}
    assert terms == {"player_0": False, "player_1": False, "player_2": False}
    assert truncs == {"player_0": False, "player_1": False, "player_2": False}
    assert infos["player_0"]["failed_stag_hunt"] is True
    assert infos["player_0"]["captured"] is None and infos["player_0"]["prey_id"] == -1
    assert infos["player_0"]["illegal_action"] is False
    assert env.agents == ["player_0", "player_1", "player_2"]
    assert env.core_state.player_rc(0) == (1, 2)
    assert bool(env.core_state.object_alive[0])


def test_stag_reward_split_by_strength_one_to_three() -> None:
    r = rules(2, player_strength=(1, 3))
    s = hand_state(r, OPEN_4x4, players=[(0, 1), (0, 1)], objects=[(0, 1), (2, 2)])
    out = r.step(s, [HUNT_STAG, HUNT_STAG])
    assert as_list(out.rewards) == [2.5, 7.5]


def test_stag_reward_split_by_strength_among_the_group_only() -> None:
    # Strengths (1, 2, 3, 6): the group {0, 1, 2} shares 12 as 2, 4, 6; player 3 is elsewhere.
    r = rules(4, stag_reward=12.0, player_strength=(1, 2, 3, 6))
    s = hand_state(r, OPEN_4x4, players=[(3, 1), (3, 1), (3, 1), (0, 0)], objects=[(3, 1), (0, 3)])
    out = r.step(s, [HUNT_STAG, HUNT_STAG, HUNT_STAG, STAY])
    assert as_list(out.rewards) == [2.0, 4.0, 6.0, 0.0]


def test_group_smaller_than_required_fails_and_larger_group_succeeds() -> None:
    r = rules(4, stag_hunters_required=3)
    s = hand_state(r, OPEN_4x4, players=[(1, 1), (1, 1), (1, 1), (1, 1)], objects=[(1, 1), (2, 2)])
    out = r.step(s, [HUNT_STAG, HUNT_STAG, STAY, STAY])
    assert as_list(out.failed) == [True, True, False, False]
    assert as_list(out.rewards) == [0.0] * 4
    out = r.step(s, [HUNT_STAG, HUNT_STAG, HUNT_STAG, STAY])
    assert as_list(out.rewards) == [10 / 3, 10 / 3, 10 / 3, 0.0]
    assert as_list(out.terminated) == [True, True, True, False]


def test_hunt_hare_on_the_stag_is_illegal_and_does_not_join_the_group() -> None:
    r = rules(2)
    s = hand_state(r, OPEN_4x4, players=[(1, 1), (1, 1)], objects=[(1, 1), (2, 2)])
    out = r.step(s, [HUNT_STAG, HUNT_HARE])
    assert as_list(out.illegal) == [False, True]
    assert as_list(out.failed) == [True, False]
    assert bool(s.object_alive[0])


def test_players_never_block_each_other() -> None:
    r = rules(4)
    s = hand_state(r, OPEN_4x4, players=[(1, 1), (1, 2), (0, 0), (2, 1)], objects=[(3, 3), (3, 0)])
    # 0 and 1 swap cells, 2 stays, 3 moves onto player 0's old cell.
    out = r.step(s, [RIGHT, LEFT, STAY, UP])
    assert as_list(out.illegal) == [False] * 4
    assert [s.player_rc(i) for i in range(4)] == [(1, 2), (1, 1), (0, 0), (1, 1)]


# -- hares -----------------------------------------------------------------------------------
def test_hare_split_equally_between_two_hunters() -> None:
    r = rules(3, player_strength=(1, 5, 1))  # strength only weights the stag
    s = hand_state(r, OPEN_4x4, players=[(2, 3), (2, 3), (0, 0)], objects=[(1, 1), (2, 3)])
    out = r.step(s, [HUNT_HARE, HUNT_HARE, STAY])
    assert as_list(out.rewards) == [0.5, 0.5, 0.0]
    assert as_list(out.terminated) == [True, True, False]
    assert as_list(out.target) == [1, 1, -1]
    assert as_list(s.object_alive) == [True, False]


def test_lone_hare_hunter_captures_the_whole_hare() -> None:
    r = rules(2, hare_reward=3.0)
    s = hand_state(r, OPEN_4x4, players=[(0, 2), (0, 3)], objects=[(3, 3), (0, 2)])
    out = r.step(s, [HUNT_HARE, LEFT])
    assert as_list(out.rewards) == [3.0, 0.0]
    assert as_list(out.terminated) == [True, False]
    assert as_list(s.player_pos) == [2, 2]  # the hunter does not move; the mover does


def test_hunt_stag_on_a_hare_or_empty_cell_is_illegal() -> None:
    r = rules(2)
    s = hand_state(r, OPEN_4x4, players=[(2, 2), (0, 0)], objects=[(1, 1), (2, 2)])
    out = r.step(s, [HUNT_STAG, HUNT_HARE])
    assert as_list(out.illegal) == [True, True]
    assert as_list(out.rewards) == [0.0, 0.0]
    assert as_list(s.player_pos) == [10, 0]


# -- leaving the game and prey that never come back ------------------------------------------
def test_hunters_leave_the_agents_list_and_the_observations() -> None:
    env = hand_env(
        MarkovStagHuntEnv,
        OPEN_4x4,
        players=[(0, 0), (0, 0), (3, 3)],
        objects=[(0, 0), (2, 1)],
        num_players=3,
        num_stags=1,
        num_hares=1,
        num_wall_pieces=0,
    )
    obs, _, terms, truncs, _ = env.step(
        {"player_0": HUNT_STAG, "player_1": HUNT_STAG, "player_2": UP}
    )
    assert terms == {"player_0": True, "player_1": True, "player_2": False}
    assert truncs == {"player_0": False, "player_1": False, "player_2": False}
    assert env.agents == ["player_2"]
    # player_2 sees itself on channel 0 and the departed player_0, player_1 as empty channels.
    grid = obs["player_2"]["observation"]
    assert grid[0, 2, 3] == 1 and grid[0].sum() == 1
    assert grid[1].sum() == 0 and grid[2].sum() == 0
    obs, *_ = env.step({"player_2": LEFT})
    assert set(obs) == {"player_2"}
    assert obs["player_2"]["observation"][1:3].sum() == 0
    state = env.state()
    assert state[0].sum() == 0 and state[1].sum() == 0 and state[2, 2, 2] == 1


def test_departed_players_are_ignored_by_the_core() -> None:
    r = rules(3, num_hares=2)
    s = hand_state(
        r,
        OPEN_4x4,
        players=[(0, 0), (1, 1), (2, 2)],
        objects=[(0, 0), (1, 1), (3, 3)],
        active=[True, False, True],
    )
    out = r.step(s, [STAY, HUNT_HARE, DOWN])
    assert as_list(out.rewards) == [0.0, 0.0, 0.0]
    assert as_list(out.terminated) == [False, False, False]
    assert as_list(out.illegal) == [False, False, False]
    assert as_list(s.object_alive) == [True, True, True]
    assert as_list(s.player_pos) == [0, 5, 14]


def test_prey_never_respawn() -> None:
    r = rules(3, num_stags=1, num_hares=2, max_cycles=40)
    s = hand_state(r, OPEN_4x4, players=[(3, 0), (3, 0), (0, 2)], objects=[(3, 0), (1, 3), (0, 2)])
    r.step(s, [HUNT_STAG, HUNT_STAG, HUNT_HARE])
    assert as_list(s.object_alive) == [False, True, False]
    assert as_list(s.active) == [False, False, False]
    assert s.over  # everybody left
    # A fresh group walks over the old stag cell for many steps: nothing comes back.
    s = hand_state(
        r,
        OPEN_4x4,
        players=[(3, 0), (3, 0), (0, 0)],
        objects=[(3, 0), (1, 3), (0, 2)],
        object_alive=[False, True, False],
    )
    rng = np.random.default_rng(0)
    for _ in range(30):
        if s.over:
            break
        r.step(s, rng.integers(0, 5, size=3).tolist())  # moves and stay only
        assert as_list(s.object_alive) == [False, True, False]
        layers = r.layers(s)
        assert layers[4].sum() == 0  # no stag anywhere
        assert layers[5].sum() == 1 and layers[5, 1, 3] == 1


# -- illegal moves ---------------------------------------------------------------------------
WALLED_3x4 = """
..#.
....
#...
"""


def test_moves_into_walls_or_off_the_grid_run_as_stay() -> None:
    r = StagHuntRules(StagHuntConfig(num_players=4, height=3, width=4, num_stags=1, num_hares=0))
    s = hand_state(r, WALLED_3x4, players=[(0, 0), (0, 1), (1, 0), (2, 3)], objects=[(1, 2)])
    # player 0: up off the grid; player 1: right into the wall; player 2: down into the wall;
    # player 3: up, legal.
    out = r.step(s, [UP, RIGHT, DOWN, UP])
    assert as_list(out.illegal) == [True, True, True, False]
    assert [s.player_rc(i) for i in range(4)] == [(0, 0), (0, 1), (1, 0), (1, 3)]
    out = r.step(s, [LEFT, DOWN, RIGHT, RIGHT])  # off the left edge; legal; legal; off the right
    assert as_list(out.illegal) == [True, False, False, True]
    assert [s.player_rc(i) for i in range(4)] == [(0, 0), (1, 1), (1, 1), (1, 3)]


def test_illegal_action_is_flagged_in_infos() -> None:
    env = hand_env(
        MarkovStagHuntEnv,
        WALLED_3x4,
        players=[(0, 1), (1, 1)],
        objects=[(1, 2), (2, 1)],
        num_players=2,
        num_stags=1,
        num_hares=1,
    )
    _, rewards, _, _, infos = env.step({"player_0": RIGHT, "player_1": HUNT_HARE})
    assert infos["player_0"]["illegal_action"] is True
    assert infos["player_1"]["illegal_action"] is True
    assert rewards == {"player_0": 0.0, "player_1": 0.0}
    assert env.core_state.player_rc(0) == (0, 1) and env.core_state.player_rc(1) == (1, 1)
    _, _, _, _, infos = env.step({"player_0": DOWN, "player_1": STAY})
    assert infos["player_0"]["illegal_action"] is False


def test_strict_mode_raises_on_a_masked_action() -> None:
    env = hand_env(
        MarkovStagHuntEnv,
        WALLED_3x4,
        players=[(0, 1), (1, 1)],
        objects=[(1, 2), (2, 1)],
        num_players=2,
        num_stags=1,
        num_hares=1,
        strict=True,
    )
    with pytest.raises(ValueError, match=r"action 3 \(right\) is not legal for 'player_0'"):
        env.step({"player_0": RIGHT, "player_1": STAY})
    with pytest.raises(ValueError, match=r"'player_1'.*legal actions are \[0, 1, 2, 3, 4\]"):
        env.step({"player_0": STAY, "player_1": HUNT_STAG})
    assert env.core_state.t == 0  # nothing was stepped
    env.step({"player_0": DOWN, "player_1": RIGHT})
    assert env.core_state.player_rc(0) == (1, 1) and env.core_state.player_rc(1) == (1, 2)


# -- masks ------------------------------------------------------------------------------------
MASK_PICTURE = """
.#..
....
..#.
"""


def test_masks_of_a_hand_built_position() -> None:
    r = StagHuntRules(StagHuntConfig(num_players=5, height=3, width=4, num_stags=1, num_hares=1))
    s = hand_state(
        r,
        MASK_PICTURE,
        players=[(0, 0), (1, 1), (1, 2), (2, 3), (0, 3)],
        objects=[(1, 1), (2, 3)],
        active=[True, True, True, True, False],
    )
    #                     up down left right stay stag hare
    expected = [
        [0, 1, 0, 0, 1, 0, 0],  # (0,0): wall to the right, edges up and left
        [0, 1, 1, 1, 1, 1, 0],  # (1,1) on the stag: wall above
        [1, 0, 1, 1, 1, 0, 0],  # (1,2): wall below
        [1, 0, 0, 0, 1, 0, 1],  # (2,3) on the hare: edges down and right, wall to the left
        [0, 0, 0, 0, 1, 0, 0],  # departed: stay only
    ]
    masks = r.action_masks(s)
    assert masks.dtype == np.int8
    assert masks.tolist() == expected
    assert [r.action_mask(s, i).tolist() for i in range(5)] == expected


def test_mask_changes_once_the_prey_is_gone() -> None:
    r = rules(3)
    s = hand_state(r, OPEN_4x4, players=[(1, 1), (1, 1), (1, 1)], objects=[(1, 1), (3, 3)])
    assert r.action_mask(s, 2).tolist() == [1, 1, 1, 1, 1, 1, 0]
    r.step(s, [HUNT_STAG, HUNT_STAG, STAY])
    assert r.action_mask(s, 2).tolist() == [1, 1, 1, 1, 1, 0, 0]


# -- time reward and prosocial rewards ---------------------------------------------------------
def test_time_reward_goes_to_players_active_at_the_start_of_the_step() -> None:
    r = rules(3, time_reward=-0.5)
    s = hand_state(r, OPEN_4x4, players=[(0, 0), (2, 2), (3, 3)], objects=[(1, 1), (2, 2)])
    out = r.step(s, [STAY, HUNT_HARE, RIGHT])  # player 1 takes the hare and leaves
    assert as_list(out.rewards) == [-0.5, 0.5, -0.5]
    out = r.step(s, [DOWN, STAY, STAY])
    assert as_list(out.rewards) == [-0.5, 0.0, -0.5]


def test_prosocial_gives_every_active_player_the_mean_over_all_players() -> None:
    r = rules(4, num_hares=2, reward_mode="prosocial")
    s = hand_state(
        r, OPEN_4x4, players=[(0, 0), (0, 0), (3, 3), (2, 0)], objects=[(0, 0), (3, 3), (1, 2)]
    )
    out = r.step(s, [HUNT_STAG, HUNT_STAG, HUNT_HARE, STAY])
    assert as_list(out.rewards) == [2.75] * 4  # (5 + 5 + 1 + 0) / 4
    assert as_list(out.terminated) == [True, True, True, False]
    s.player_pos[3] = flat((1, 2), 4)
    out = r.step(s, [STAY, STAY, STAY, HUNT_HARE])
    # Only player 3 was active at the start; the mean still divides by all 4 players.
    assert as_list(out.rewards) == [0.0, 0.0, 0.0, 0.25]


def test_prosocial_mean_includes_time_rewards() -> None:
    r = rules(2, reward_mode="prosocial", time_reward=-1.0)
    s = hand_state(r, OPEN_4x4, players=[(3, 3), (0, 0)], objects=[(1, 1), (3, 3)])
    out = r.step(s, [HUNT_HARE, STAY])
    assert as_list(out.rewards) == [-0.5, -0.5]  # (1 - 1 - 1) / 2


# -- end of the episode -------------------------------------------------------------------------
def test_episode_ends_when_every_player_has_left() -> None:
    env = hand_env(
        MarkovStagHuntEnv,
        OPEN_4x4,
        players=[(2, 1), (2, 1)],
        objects=[(2, 1), (0, 0), (0, 3)],
        num_players=2,
        num_stags=1,
        num_hares=2,
        num_wall_pieces=0,
    )
    _, rewards, terms, truncs, _ = env.step({"player_0": HUNT_STAG, "player_1": HUNT_STAG})
    assert rewards == {"player_0": 5.0, "player_1": 5.0}
    assert terms == {"player_0": True, "player_1": True}
    assert truncs == {"player_0": False, "player_1": False}
    assert env.agents == []
    assert env.core_state.over
    assert env.core_state.object_alive.tolist() == [False, True, True]


def test_no_prey_left_terminates_the_remaining_players() -> None:
    env = hand_env(
        MarkovStagHuntEnv,
        OPEN_4x4,
        players=[(3, 2), (0, 0), (1, 1)],
        objects=[(3, 2)],
        num_players=3,
        num_stags=0,
        num_hares=1,
        num_wall_pieces=0,
    )
    _, rewards, terms, truncs, infos = env.step(
        {"player_0": HUNT_HARE, "player_1": STAY, "player_2": DOWN}
    )
    assert rewards == {"player_0": 1.0, "player_1": 0.0, "player_2": 0.0}
    assert terms == {"player_0": True, "player_1": True, "player_2": True}
    assert truncs == {"player_0": False, "player_1": False, "player_2": False}
    assert infos["player_1"]["captured"] is None and infos["player_0"]["captured"] == "hare"
    assert env.agents == []
    assert env.core_state.over


def test_max_cycles_truncates_everyone_left() -> None:
    r = rules(3, max_cycles=3)
    s = hand_state(r, OPEN_4x4, players=[(0, 0), (1, 1), (2, 3)], objects=[(1, 1), (2, 3)])
    out = r.step(s, [STAY, STAY, HUNT_HARE])  # player 2 leaves at t=1
    assert as_list(out.truncated) == [False] * 3 and not s.over
    out = r.step(s, [STAY, STAY, STAY])
    assert as_list(out.truncated) == [False] * 3 and not s.over
    out = r.step(s, [RIGHT, STAY, STAY])
    assert as_list(out.truncated) == [True, True, False]
    assert as_list(out.terminated) == [False, False, False]
    assert s.over and s.t == 3


def test_max_cycles_through_the_env() -> None:
    env = hand_env(
        MarkovStagHuntEnv,
        OPEN_4x4,
        players=[(0, 0), (1, 1)],
        objects=[(3, 3), (2, 2)],
        num_players=2,
        num_stags=1,
        num_hares=1,
        max_cycles=2,
        num_wall_pieces=0,
    )
    stay = {"player_0": STAY, "player_1": STAY}
    obs, _, _, truncs, _ = env.step(stay)
    assert truncs == {"player_0": False, "player_1": False} and obs["player_0"]["step"] == 1
    obs, _, terms, truncs, _ = env.step(stay)
    assert truncs == {"player_0": True, "player_1": True}
    assert terms == {"player_0": False, "player_1": False}
    assert obs["player_0"]["step"] == 2
    assert env.agents == []


@pytest.mark.parametrize("k", [0, 1, 3])
def test_end_after_first_hunt_truncates_exactly_k_steps_after_the_first_capture(k: int) -> None:
    r = rules(3, num_hares=2, end_after_first_hunt=k, max_cycles=30)
    s = hand_state(r, OPEN_4x4, players=[(0, 0), (1, 1), (3, 3)], objects=[(2, 2), (1, 1), (3, 0)])
    # A failed stag hunt is not a capture.
    r.step(s, [STAY, STAY, STAY])
    s.player_pos[0] = flat((2, 2), 4)
    out = r.step(s, [HUNT_STAG, STAY, STAY])
    assert bool(out.failed[0]) and s.first_capture_t == -1
    out = r.step(s, [STAY, HUNT_HARE, STAY])  # the first capture, at t = 3
    assert s.first_capture_t == 3
    assert as_list(out.terminated) == [False, True, False]
    for _ in range(k):
        assert as_list(out.truncated) == [False] * 3 and not s.over
        out = r.step(s, [STAY, STAY, STAY])
    assert s.t == 3 + k
    assert as_list(out.truncated) == [True, False, True]
    assert s.over


def test_end_after_first_hunt_zero_still_terminates_the_capturers() -> None:
    r = rules(2, end_after_first_hunt=0)
    s = hand_state(r, OPEN_4x4, players=[(1, 1), (0, 0)], objects=[(2, 2), (1, 1)])
    out = r.step(s, [HUNT_HARE, STAY])
    assert as_list(out.terminated) == [True, False]
    assert as_list(out.truncated) == [False, True]
    assert s.over


# -- observations and the global state ---------------------------------------------------------
CHANNEL_PICTURE = """
...#
....
.#..
"""


def test_observation_channel_order_seen_from_each_seat() -> None:
    env = hand_env(
        MarkovStagHuntEnv,
        CHANNEL_PICTURE,
        players=[(0, 0), (1, 2), (2, 3)],
        objects=[(1, 0), (0, 1), (2, 2)],
        num_players=3,
        num_stags=1,
        num_hares=2,
    )
    obs, *_ = env.step({"player_0": STAY, "player_1": STAY, "player_2": STAY})
    player_cells = [(0, 0), (1, 2), (2, 3)]

    def one_hot(*cells: tuple[int, int]) -> np.ndarray:
        grid = np.zeros((3, 4), dtype=np.uint8)
        for rc in cells:
            grid[rc] = 1
        return grid

    walls = one_hot((0, 3), (2, 1))
    stags, hares = one_hot((1, 0)), one_hot((0, 1), (2, 2))
    for seat in range(3):
        grid = obs[f"player_{seat}"]["observation"]
        assert grid.shape == (6, 3, 4) and grid.dtype == np.uint8
        order = [seat, (seat + 1) % 3, (seat + 2) % 3]
        for channel, other in enumerate(order):
            assert np.array_equal(grid[channel], one_hot(player_cells[other])), (seat, channel)
        assert np.array_equal(grid[3], walls)
        assert np.array_equal(grid[4], stags)
        assert np.array_equal(grid[5], hares)
    state = env.state()
    for seat in range(3):
        assert np.array_equal(state[seat], one_hot(player_cells[seat]))
    assert np.array_equal(state[3:], np.stack([walls, stags, hares]))


def test_observation_mask_and_step_entries() -> None:
    env = hand_env(
        MarkovStagHuntEnv,
        CHANNEL_PICTURE,
        players=[(1, 0), (0, 2)],
        objects=[(1, 0), (0, 1)],
        num_players=2,
        num_stags=1,
        num_hares=1,
    )
    obs, *_ = env.step({"player_0": STAY, "player_1": LEFT})
    assert obs["player_0"]["action_mask"].tolist() == [1, 1, 0, 1, 1, 1, 0]
    assert obs["player_1"]["action_mask"].tolist() == [0, 1, 1, 1, 1, 0, 1]
    assert obs["player_0"]["step"] == 1


# -- events in infos ---------------------------------------------------------------------------
def test_infos_carry_the_events_of_the_step() -> None:
    env = hand_env(
        MarkovStagHuntEnv,
        OPEN_4x4,
        players=[(0, 0), (0, 0), (3, 3), (1, 3), (0, 3)],
        objects=[(0, 0), (1, 3), (3, 3), (2, 0)],
        num_players=5,
        num_stags=2,
        num_hares=2,
        num_wall_pieces=0,
    )
    _, rewards, terms, _, infos = env.step(
        {
            "player_0": HUNT_STAG,  # with player_1 on stag 0
            "player_1": HUNT_STAG,
            "player_2": HUNT_HARE,  # alone on hare 2
            "player_3": HUNT_STAG,  # alone on stag 1: fails
            "player_4": UP,  # off the grid
        }
    )

    def info(captured, prey_id, failed, illegal) -> dict[str, Any]:
        return {
            "captured": captured,
            "prey_id": prey_id,
            "failed_stag_hunt": failed,
            "illegal_action": illegal,
        }

    assert infos == {
        "player_0": info("stag", 0, False, False),
        "player_1": info("stag", 0, False, False),
        "player_2": info("hare", 2, False, False),
        "player_3": info(None, -1, True, False),
        "player_4": info(None, -1, False, True),
    }
    assert rewards == {
        "player_0": 5.0,
        "player_1": 5.0,
        "player_2": 1.0,
        "player_3": 0.0,
        "player_4": 0.0,
    }
    assert env.agents == ["player_3", "player_4"]
    assert terms["player_2"] is True and terms["player_3"] is False
