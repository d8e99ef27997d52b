"""Exact moves and distributions of the rule-based co-players on hand-built grids."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from coplayer_grids import build, make_obs, observation

from hop_envs.coplayers import Cleaner, FreeRider, NearestHare, NearestStag, RandomCoplayer

UP, DOWN, LEFT, RIGHT, STAY, HUNT_STAG, HUNT_HARE = range(7)
REMOVE = 5


def dist(num_actions: int, **probs: float) -> np.ndarray:
    """A distribution from action names, e.g. ``dist(7, up=0.5, right=0.5)``."""
    index = {"up": UP, "down": DOWN, "left": LEFT, "right": RIGHT, "stay": STAY}
    index |= {"hunt_stag": HUNT_STAG, "hunt_hare": HUNT_HARE, "remove": REMOVE}
    out = np.zeros(num_actions)
    for name, p in probs.items():
        out[index[name]] = p
    return out


def seeded(cls, seed: int = 0):
    player = cls()
    player.reset(seed=seed)
    return player


# -- nearest-stag / nearest-hare -----------------------------------------------------------
WALLED = [".#S..", ".#...", "....."]


def test_wall_forces_the_detour_and_the_whole_path_is_shortest():
    # The wall at (0,1),(1,1) blocks "right"; the only shortest path is D D R R U U (6 moves).
    obs = make_obs("stag", WALLED, [(0, 0), (2, 4)])
    np.testing.assert_array_equal(seeded(NearestStag).action_distribution(obs), dist(7, down=1))

    rules, state = build("stag", WALLED, [(0, 0), (2, 4)])
    player = seeded(NearestStag)
    taken, cells = [], []
    for _ in range(7):
        action = player.act(observation(rules, state, 0))
        taken.append(action)
        rules.step(state, [action, STAY])
        cells.append(state.player_rc(0))
    assert taken == [DOWN, DOWN, RIGHT, RIGHT, UP, UP, HUNT_STAG]
    assert cells[:6] == [(1, 0), (2, 0), (2, 1), (2, 2), (1, 2), (0, 2)]


def test_without_the_wall_the_direct_move_is_taken():
    obs = make_obs("stag", ["..S..", ".....", "....."], [(0, 0), (2, 4)])
    np.testing.assert_array_equal(seeded(NearestStag).action_distribution(obs), dist(7, right=1))


def test_two_equally_near_hares_split_the_first_move():
    # Hares 2 moves away above and to the right; the third hare (4 moves) and the stag
    # next to the player are ignored.
    rows = ["..H..", ".....", ".S..H", ".....", "H...."]
    obs = make_obs("stag", rows, [(2, 2), (4, 4)])
    probs = seeded(NearestHare).action_distribution(obs)
    np.testing.assert_array_equal(probs, dist(7, up=0.5, right=0.5))


def test_diagonal_target_splits_between_both_shortest_paths():
    obs = make_obs("stag", ["...", ".H.", "..S"], [(0, 0), (2, 2)])
    probs = seeded(NearestHare).action_distribution(obs)
    np.testing.assert_array_equal(probs, dist(7, down=0.5, right=0.5))


def test_on_the_stag_it_hunts_with_probability_one_even_alone():
    obs = make_obs("stag", ["...", ".S.", "..H"], [(1, 1), (2, 0)])
    np.testing.assert_array_equal(
        seeded(NearestStag).action_distribution(obs), dist(7, hunt_stag=1)
    )
    # The lone hunter fails and keeps hunting every step.
    rules, state = build("stag", ["...", ".S.", "..H"], [(1, 1), (2, 0)])
    player = seeded(NearestStag)
    for _ in range(3):
        action = player.act(observation(rules, state, 0))
        assert action == HUNT_STAG
        outcome = rules.step(state, [action, STAY])
        assert outcome.failed.tolist() == [True, False]


def test_stag_hunter_on_a_hare_walks_on_to_the_stag():
    obs = make_obs("stag", ["H.S", "..."], [(0, 0), (1, 2)])
    np.testing.assert_array_equal(seeded(NearestStag).action_distribution(obs), dist(7, right=1))


def test_on_a_hare_the_hare_hunter_hunts_it():
    obs = make_obs("stag", ["H.S", "..."], [(0, 0), (1, 2)])
    np.testing.assert_array_equal(
        seeded(NearestHare).action_distribution(obs), dist(7, hunt_hare=1)
    )


def test_no_stag_left_means_stay():
    # The stag at (0,2) was captured; hares remain but the stag hunter does not switch.
    obs = make_obs("stag", ["H.s", "..H"], [(1, 0), (0, 0)])
    np.testing.assert_array_equal(seeded(NearestStag).action_distribution(obs), dist(7, stay=1))


def test_no_hare_left_means_stay():
    obs = make_obs("stag", ["h.S", "..h"], [(1, 0), (0, 0)])
    np.testing.assert_array_equal(seeded(NearestHare).action_distribution(obs), dist(7, stay=1))


def test_each_seat_reads_its_own_position_from_channel_zero():
    rows = ["..S..", "....."]
    players = [(0, 0), (0, 4)]
    np.testing.assert_array_equal(
        seeded(NearestStag).action_distribution(make_obs("stag", rows, players, seat=0)),
        dist(7, right=1),
    )
    np.testing.assert_array_equal(
        seeded(NearestStag).action_distribution(make_obs("stag", rows, players, seat=1)),
        dist(7, left=1),
    )


@pytest.mark.parametrize("cls", [NearestStag, NearestHare, RandomCoplayer])
def test_a_player_that_has_left_can_only_stay(cls):
    obs = make_obs("stag", ["H.S", "..."], [(0, 0), (1, 2)], left=(0,))
    assert not obs["observation"][0].any()
    np.testing.assert_array_equal(seeded(cls).action_distribution(obs), dist(7, stay=1))
    assert seeded(cls).act(obs) == STAY


# -- random, free-rider, cleaner -----------------------------------------------------------
def test_random_is_uniform_over_exactly_the_legal_actions():
    # Corner (0,0) on a hare, wall to the right: down, stay, hunt-hare are the legal ones.
    obs = make_obs("stag", ["H#.", "...", "..S"], [(0, 0), (2, 2)])
    assert np.flatnonzero(obs["action_mask"]).tolist() == [DOWN, STAY, HUNT_HARE]
    np.testing.assert_allclose(
        seeded(RandomCoplayer).action_distribution(obs),
        dist(7, down=1 / 3, stay=1 / 3, hunt_hare=1 / 3),
    )


def test_random_in_the_snowdrift_includes_remove_where_legal():
    obs = make_obs("snow", ["...", ".D.", "..D"], [(1, 1), (0, 0)])
    np.testing.assert_allclose(seeded(RandomCoplayer).action_distribution(obs), np.full(6, 1 / 6))
    obs = make_obs("snow", ["...", ".D.", "..D"], [(0, 0), (1, 1)])
    np.testing.assert_allclose(
        seeded(RandomCoplayer).action_distribution(obs),
        dist(6, down=1 / 3, right=1 / 3, stay=1 / 3),
    )


def test_free_rider_moves_or_stays_but_never_removes():
    obs = make_obs("snow", ["D..", "...", "..D"], [(0, 0), (2, 2)])
    assert obs["action_mask"][REMOVE] == 1  # removing would be legal
    np.testing.assert_allclose(
        seeded(FreeRider).action_distribution(obs),
        dist(6, down=1 / 3, right=1 / 3, stay=1 / 3),
    )
    player = seeded(FreeRider, seed=3)
    assert {player.act(obs) for _ in range(300)} == {DOWN, RIGHT, STAY}


def test_cleaner_removes_the_drift_it_stands_on():
    obs = make_obs("snow", ["D..", "...", "..D"], [(0, 0), (2, 2)])
    np.testing.assert_array_equal(seeded(Cleaner).action_distribution(obs), dist(6, remove=1))


def test_cleaner_goes_to_the_nearer_drift():
    obs = make_obs("snow", [".D.", "...", "..D"], [(0, 0), (1, 1)])
    np.testing.assert_array_equal(seeded(Cleaner).action_distribution(obs), dist(6, right=1))


def test_cleaner_tie_between_two_drifts_in_opposite_corners():
    # (0,0) is reached by up or left, (2,2) by down or right: all four moves are shortest.
    obs = make_obs("snow", ["D..", "...", "..D"], [(1, 1), (0, 1)])
    np.testing.assert_array_equal(
        seeded(Cleaner).action_distribution(obs),
        dist(6, up=0.25, down=0.25, left=0.25, right=0.25),
    )


def test_cleaner_walks_around_walls():
    # The drift is two rows below the player, behind the wall at (1,0),(1,1).
    rows = ["...", "##.", "D.."]
    obs = make_obs("snow", rows, [(0, 0), (0, 2)])
    # Only route: (0,0)->(0,1)->(0,2)->(1,2)->(2,2)->(2,1)->(2,0): first move right.
    np.testing.assert_array_equal(seeded(Cleaner).action_distribution(obs), dist(6, right=1))


# -- sampling and determinism ---------------------------------------------------------------
def test_act_samples_exactly_the_distribution():
    obs = make_obs("snow", ["D..", "...", "..D"], [(1, 1), (0, 1)])
    player = seeded(Cleaner, seed=11)
    draws = np.array([player.act(obs) for _ in range(4000)])
    counts = np.bincount(draws, minlength=6) / draws.size
    assert set(np.flatnonzero(counts).tolist()) == {UP, DOWN, LEFT, RIGHT}
    np.testing.assert_allclose(counts[:4], 0.25, atol=0.03)


def test_same_seed_same_actions_other_seed_other_actions():
    obs = make_obs("stag", ["...", ".S.", "..H"], [(0, 0), (2, 2)])

    def actions(seed: int) -> list[int]:
        player = seeded(RandomCoplayer, seed)
        return [player.act(obs) for _ in range(50)]

    assert actions(5) == actions(5)
    assert actions(5) != actions(6)


def test_reset_restarts_the_random_stream():
    obs = make_obs("stag", ["...", ".S.", "..H"], [(0, 0), (2, 2)])
    player = seeded(RandomCoplayer, 9)
    first = [player.act(obs) for _ in range(20)]
    player.reset(seed=9)
    assert [player.act(obs) for _ in range(20)] == first


# -- bad input -------------------------------------------------------------------------------
def test_act_before_reset_is_an_error():
    obs = make_obs("stag", ["...", ".S.", "..H"], [(0, 0), (2, 2)])
    with pytest.raises(RuntimeError, match=r"'nearest-stag'.*reset\(seed"):
        NearestStag().act(obs)


def test_missing_keys_are_named():
    with pytest.raises(ValueError, match=r"'action_mask'.*keys \['observation'\]"):
        seeded(NearestStag).action_distribution({"observation": np.zeros((5, 3, 3))})


def test_observation_of_the_wrong_game_is_refused():
    snow = make_obs("snow", ["D..", "...", "..D"], [(1, 1), (0, 1)])
    with pytest.raises(ValueError, match=r"'nearest-stag'.*must have 7 entries.*got 6"):
        seeded(NearestStag).action_distribution(snow)
    stag = make_obs("stag", ["...", ".S.", "..H"], [(0, 0), (2, 2)])
    with pytest.raises(ValueError, match=r"'cleaner'.*must have 6 entries.*got 7"):
        seeded(Cleaner).act(stag)


def test_grid_too_small_for_the_game_is_refused():
    obs = {"observation": np.zeros((3, 4, 4), np.uint8), "action_mask": np.ones(7, np.int8)}
    with pytest.raises(ValueError, match=r"C >= 5.*got shape \(3, 4, 4\)"):
        seeded(NearestStag).action_distribution(obs)


def test_a_mask_that_contradicts_the_grid_is_an_error():
    obs = make_obs("stag", ["...", ".S.", "..H"], [(1, 1), (2, 2)])
    obs["action_mask"] = obs["action_mask"].copy()
    obs["action_mask"][HUNT_STAG] = 0
    with pytest.raises(ValueError, match=r"forbids action 5.*disagree"):
        seeded(NearestStag).action_distribution(obs)


def test_an_empty_mask_is_an_error():
    obs = {"observation": np.zeros((5, 3, 3), np.uint8), "action_mask": np.zeros(6, np.int8)}
    with pytest.raises(ValueError, match=r"'random'.*allows no action"):
        seeded(RandomCoplayer).action_distribution(obs)


def test_a_seat_in_another_env_is_refused():
    with pytest.raises(ValueError, match=r"'cleaner' plays only hop/MarkovSnowdrift-v0.*Stag"):
        Cleaner().reset(seed=0, seat=SimpleNamespace(env_id="hop/MarkovStagHunt-v0"))
    # The short id is accepted for the right env.
    Cleaner().reset(seed=0, seat=SimpleNamespace(env_id="MarkovSnowdrift-v0"))


def test_the_returned_distribution_is_the_callers_own_copy():
    obs = make_obs("stag", ["..S..", ".....", "....."], [(0, 0), (2, 4)])
    player = seeded(NearestStag)
    probs = player.action_distribution(obs)
    probs[:] = 0.0
    np.testing.assert_array_equal(player.action_distribution(obs), dist(7, right=1))
