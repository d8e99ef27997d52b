"""The compiled step (:mod:`hop_envs.core.compiled`) equals the batched core's, bit for bit."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_env_properties import (
    PROPERTY_SETTINGS,
    choose_actions,
    snowdrift_args,
    stag_hunt_args,
)

from hop_envs.core import (
    BatchedGame,
    BatchedState,
    GridRules,
    SnowdriftConfig,
    SnowdriftRules,
    StagHuntConfig,
    StagHuntRules,
)
from hop_envs.core.compiled import CompiledStep

_STATE_FIELDS = (
    "player_pos",
    "active",
    "object_alive",
    "cell_object",
    "cell_code",
    "t",
    "first_capture_t",
    "over",
)


def step_side_by_side(
    rules: GridRules, batch_size: int, seed: int, p_object: float, crowd: bool
) -> int:
    """Step one batch with :class:`BatchedGame` and a copy with :class:`CompiledStep` until
    every entry is over, comparing everything after each step; return the captures seen."""
    rng = np.random.default_rng(seed)
    states = [rules.reset(rng) for _ in range(batch_size)]
    if crowd:
        for s in states:
            s.player_pos[:] = rng.choice(s.object_pos[:2], size=s.num_players)
    batched = BatchedState.stack(states)
    compiled = batched.take(np.arange(batch_size))
    game = BatchedGame(rules)
    kernel = CompiledStep(game, batched.object_kind)
    captures = 0
    for _ in range(rules.config.max_cycles + 2):
        masks = game.action_masks(batched)
        actions = np.asarray(
            [choose_actions(rng, masks[i], rules.num_actions, p_object) for i in range(batch_size)],
            dtype=np.int64,
        )
        out = game.step(batched, actions)
        rewards, target = kernel.step(compiled, actions)
        assert np.array_equal(rewards, out.rewards)
        assert np.array_equal(np.signbit(rewards), np.signbit(out.rewards))
        assert np.array_equal(target, out.target)
        for field in _STATE_FIELDS:
            assert np.array_equal(getattr(compiled, field), getattr(batched, field)), field
        captures += int((target >= 0).sum())
        if batched.over.all():
            break
    assert compiled.over.all()
    return captures


def build_rules(game: str, args: dict[str, Any]) -> GridRules:
    if game == "stag":
        return StagHuntRules(StagHuntConfig(**args))
    return SnowdriftRules(SnowdriftConfig(**args))


@settings(PROPERTY_SETTINGS, max_examples=100)  # both games: 50 each on average
@given(
    game_args=st.tuples(st.just("stag"), stag_hunt_args())
    | st.tuples(st.just("snowdrift"), snowdrift_args()),
    batch_size=st.integers(1, 6),
    seed=st.integers(0, 2**32 - 1),
    p_object=st.floats(0.0, 1.0),
    crowd=st.booleans(),
)
def test_compiled_step_equals_batched(
    game_args: tuple[str, dict[str, Any]], batch_size: int, seed: int, p_object: float, crowd: bool
) -> None:
    step_side_by_side(build_rules(*game_args), batch_size, seed, p_object, crowd)


@pytest.mark.parametrize(
    "rules",
    [
        StagHuntRules(StagHuntConfig()),
        StagHuntRules(StagHuntConfig(reward_mode="prosocial", time_reward=-0.1)),
        SnowdriftRules(SnowdriftConfig()),
        SnowdriftRules(SnowdriftConfig(removal_reward=-1.0, reward_mode="prosocial")),
    ],
    ids=["stag", "stag-prosocial-time", "snowdrift", "snowdrift-negative-prosocial"],
)
def test_compiled_step_equals_batched_on_the_default_games(rules: GridRules) -> None:
    """Crowded starts and object actions every step: hunts, shared removals and failed
    stag hunts happen, and both steps agree on all of them."""
    captures = sum(step_side_by_side(rules, 16, seed, 0.9, True) for seed in range(5))
    assert captures > 0


def test_hand_worked_stag_hunt_and_wrong_shapes() -> None:
    """Two hunters on the stag share 10, a lone hare hunter gets 1; a bad shape is refused."""
    rules = StagHuntRules(StagHuntConfig(num_players=3, num_stags=1, num_hares=1))
    state = rules.reset(np.random.default_rng(0))
    stag_cell, hare_cell = int(state.object_pos[0]), int(state.object_pos[1])
    state.player_pos[:] = [stag_cell, stag_cell, hare_cell]
    batch = BatchedState.stack([state])
    kernel = CompiledStep(BatchedGame(rules), batch.object_kind)
    hunt_stag, hunt_hare = rules.num_actions - 2, rules.num_actions - 1
    rewards, target = kernel.step(batch, np.asarray([[hunt_stag, hunt_stag, hunt_hare]]))
    assert rewards.tolist() == [[5.0, 5.0, 1.0]]
    assert target.tolist() == [[0, 0, 1]]
    assert batch.over.tolist() == [True] and not batch.active.any()
    with pytest.raises(ValueError, match=r"actions must have shape \(1, 3\)"):
        kernel.step(batch, np.zeros((1, 2), dtype=np.int64))
