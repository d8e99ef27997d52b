"""The batched core's auto-reset reserve: the fresh states are the rows of ordinary batched
resets, handed out in order; rewinding the generator and clearing the reserve replays them;
``reset_reserve=0`` draws per call; and the cell codes stay those of the state."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import hop_envs
from hop_envs.core import BatchedGame
from hop_envs.core.batched import cell_codes

FIELDS = ("walls", "move_bits", "cell_object", "player_pos", "object_pos", "object_alive")


def finished(game: BatchedGame, rng: np.random.Generator, size: int, over: list[int]):
    state = game.reset(rng, size)
    state.over[over] = True
    return state


def same_entry(a, i: int, b, j: int) -> bool:
    return all(np.array_equal(getattr(a, f)[i], getattr(b, f)[j]) for f in FIELDS)


@pytest.mark.parametrize("env_id", ["MarkovStagHunt-v0", "MarkovSnowdrift-v0"])
def test_reset_done_hands_out_the_rows_of_one_reserve_draw_in_order(env_id: str) -> None:
    rules = hop_envs.make(env_id).rules
    game = BatchedGame(rules, reset_reserve=8)
    rng = np.random.default_rng(5)
    state = finished(game, rng, 6, over=[1, 4])
    twin = copy.deepcopy(rng)  # the generator as the reserve will find it
    reserve = BatchedGame(rules, reset_reserve=0).reset(twin, 8)
    assert list(game.reset_done(state, rng)) == [1, 4]
    assert same_entry(state, 1, reserve, 0) and same_entry(state, 4, reserve, 1)
    assert not state.over[[1, 4]].any() and (state.t[[1, 4]] == 0).all()
    state.over[[0, 2, 3]] = True
    game.reset_done(state, rng)
    assert [same_entry(state, i, reserve, k) for i, k in ((0, 2), (2, 3), (3, 4))] == [True] * 3


def test_rewinding_the_generator_and_clearing_the_reserve_replays_exactly() -> None:
    rules = hop_envs.make("MarkovStagHunt-v0").rules
    game = BatchedGame(rules, reset_reserve=16)
    rng = np.random.default_rng(1)
    saved = copy.deepcopy(rng.bit_generator.state)
    runs = []
    for _ in range(2):
        rng.bit_generator.state = saved
        game.clear_reserve()
        state = finished(game, rng, 4, over=[0, 3])
        game.reset_done(state, rng)
        runs.append(state)
    assert all(same_entry(runs[0], i, runs[1], i) for i in range(4))


def test_without_a_reserve_each_call_draws_exactly_its_entries() -> None:
    rules = hop_envs.make("MarkovSnowdrift-v0").rules
    game = BatchedGame(rules, reset_reserve=0)
    rng = np.random.default_rng(9)
    state = finished(game, rng, 5, over=[2, 3])
    twin = copy.deepcopy(rng)
    game.reset_done(state, rng)
    fresh = game.reset(twin, 2)
    assert same_entry(state, 2, fresh, 0) and same_entry(state, 3, fresh, 1)
    assert rng.bit_generator.state == twin.bit_generator.state  # nothing held back
    with pytest.raises(ValueError, match="reset_reserve must be >= 0, got -1"):
        BatchedGame(rules, reset_reserve=-1)


def test_cell_codes_follow_the_state_after_steps_and_resets() -> None:
    rules = hop_envs.make("MarkovStagHunt-v0").rules
    game = BatchedGame(rules)
    rng = np.random.default_rng(3)
    state = game.reset(rng, 64)
    for _ in range(40):
        masks = game.action_masks(state)
        scores = rng.random(masks.shape) * masks
        game.step(state, scores.argmax(-1))
        game.reset_done(state, rng)
        expected = cell_codes(state.object_kind, state.cell_object, state.move_bits)
        assert np.array_equal(state.cell_code, expected)
