"""The opponent model's fields computed incrementally: a hand-worked network, and agreement
with the full forward pass of real ones."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from agents.hop.coplayer_cache import spread_over_cells
from agents.hop.incremental_fields import IncrementalFieldModel
from agents.hop.learned import LearnedCoplayerPolicy
from agents.hop.networks import ACTION_MODEL, GOAL_OM, NetworkConfig, build_network, load_network
from hop_envs.core import (
    BatchedState,
    SnowdriftConfig,
    SnowdriftRules,
    StagHuntConfig,
    StagHuntRules,
)
from hop_envs.core.positions import random_positions

STAG_RULES = StagHuntRules(StagHuntConfig())
DRIFT_RULES = SnowdriftRules(SnowdriftConfig())
CHECKPOINTS = "agents/hop/checkpoints"


def hand_worked_model() -> IncrementalFieldModel:
    """A 3x3 grid, two input channels (0: the co-player, 1: an object), one conv channel,
    one hidden unit, two actions:

    * conv: ``h1 = relu(x0[r, c] + 0.25 * x0[r - 1, c] + 2 * x1[r, c] - 0.5)`` (the
      co-player's kernel also reaches the cell below it);
    * hidden: ``relu(h1[0, 0] - 0.5 * h1[1, 1] + 1)`` (time weight 0);
    * logits ``(hidden, 0)``."""
    config = NetworkConfig(
        kind=ACTION_MODEL, in_channels=2, height=3, width=3, num_actions=2,
        conv_channels=(1,), hidden=1,
    )  # fmt: skip
    model = build_network(config, seed=0)
    conv = model.trunk.convs[0]
    with torch.no_grad():
        conv.weight.zero_()
        conv.weight[0, 0, 1, 1] = 1.0
        conv.weight[0, 0, 0, 1] = 0.25  # output (r, c) reads input (r - 1, c)
        conv.weight[0, 1, 1, 1] = 2.0
        conv.bias.fill_(-0.5)
        model.trunk.hidden.weight.zero_()
        model.trunk.hidden.weight[0, 0] = 1.0  # h1[0, 0]
        model.trunk.hidden.weight[0, 4] = -0.5  # h1[1, 1]
        model.trunk.hidden.bias.fill_(1.0)
        model.policy.weight.zero_()
        model.policy.weight[0, 0] = 1.0
        model.policy.bias.zero_()
    return IncrementalFieldModel(model)


def test_a_hand_worked_field():
    # The object at the centre; the co-player on (0,0), (0,1), (1,1), (2,2):
    # (0,0): h1[0,0] = 0.5, h1[1,1] = 1.5 (the 0.25 lands on (1,0)) -> hidden 0.75
    # (0,1): h1[0,0] = 0,   h1[1,1] = 1.75 (0.25 from above)          -> hidden 0.125
    # (1,1): h1[0,0] = 0,   h1[1,1] = 2.5                             -> hidden 0 (ReLU)
    # (2,2): h1[0,0] = 0,   h1[1,1] = 1.5                             -> hidden 0.25
    base = np.zeros((1, 2, 3, 3), dtype=np.float32)
    base[0, 1, 1, 1] = 1.0
    cells = np.array([0, 1, 4, 8, 0])
    masks = np.ones((5, 2), dtype=bool)
    masks[4, 1] = False  # the last row: only action 0 legal
    probs = hand_worked_model().probs(
        base, np.array([0.3], np.float32), np.zeros(5, np.int64), cells, masks
    )
    expected = [1 / (1 + math.exp(-h)) for h in (0.75, 0.125, 0.0, 0.25)]
    np.testing.assert_allclose(probs[:4, 0], expected, rtol=1e-6)
    np.testing.assert_allclose(probs[:4].sum(axis=1), 1.0, rtol=1e-12)
    assert probs[4].tolist() == [1.0, 0.0]


def spread_reference(policy, batch, rows, seats, goals, cells):
    """The full forward pass on the spread-out states, as the fields' reference."""
    spread, seat_rows = spread_over_cells(batch, rows, seats, cells)
    probs = policy.batch_action_probs(
        spread, np.arange(seat_rows.size), seat_rows, np.repeat(goals, cells.size)
    )
    return probs.reshape(rows.size, cells.size, -1)


def field_queries(rules, count, seed):
    """Entries, co-player seats (still in the game) and goals of ``count`` random
    positions."""
    batch = BatchedState.stack(random_positions(rules, count, seed))
    rng = np.random.default_rng(seed)
    rows = np.arange(count)
    seats = np.array([rng.choice(np.flatnonzero(batch.active[r, 1:])) + 1 for r in rows])
    num_goals = 2 if rules is STAG_RULES else rules.num_objects
    goals = rng.integers(-1, num_goals, size=count)  # -1: IDLE
    cells = np.flatnonzero(~batch.walls[0].reshape(-1))
    return batch, rows, seats, goals, cells


@pytest.mark.parametrize(
    ("rules", "env_id"),
    [(STAG_RULES, "MarkovStagHunt-v0"), (DRIFT_RULES, "MarkovSnowdrift-v0")],
)
def test_the_shipped_models_fields_equal_their_forward_pass(rules, env_id):
    model = load_network(f"{CHECKPOINTS}/{env_id}/opponent_model", GOAL_OM)
    policy = LearnedCoplayerPolicy(model, rules)
    batch, rows, seats, goals, cells = field_queries(rules, 6, seed=3)
    got = policy.field_action_probs(batch, rows, seats, goals, cells)
    reference = spread_reference(policy, batch, rows, seats, goals, cells)
    assert got.shape == (6, cells.size, rules.num_actions)
    np.testing.assert_allclose(got, reference, atol=2e-6)
    assert ((reference == 0) == (got == 0)).all()  # masked actions exactly 0 in both


@pytest.mark.parametrize("conv_channels", [(5,), (4, 6), (3, 5, 4)])
@pytest.mark.parametrize("kind", [GOAL_OM, ACTION_MODEL])
def test_any_depth_of_conv_stack_agrees(conv_channels, kind):
    """One, two and three conv layers (the changed square grows by a cell a side per layer),
    goal-conditioned and goal-free, freshly initialised weights."""
    config = NetworkConfig.for_rules(STAG_RULES, kind, conv_channels=conv_channels, hidden=24)
    policy = LearnedCoplayerPolicy(build_network(config, seed=7), STAG_RULES)
    batch, rows, seats, goals, cells = field_queries(STAG_RULES, 4, seed=11)
    got = policy.field_action_probs(batch, rows, seats, goals, cells)
    reference = spread_reference(policy, batch, rows, seats, goals, cells)
    np.testing.assert_allclose(got, reference, atol=2e-6)


def test_weights_changed_in_place_are_read_again():
    """The agent trains its opponent model between episodes: the fields follow."""
    config = NetworkConfig.for_rules(STAG_RULES, GOAL_OM, conv_channels=(4, 4), hidden=16)
    model = build_network(config, seed=1)
    policy = LearnedCoplayerPolicy(model, STAG_RULES)
    batch, rows, seats, goals, cells = field_queries(STAG_RULES, 2, seed=5)
    before = policy.field_action_probs(batch, rows, seats, goals, cells)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    optimizer.zero_grad()
    model.trunk.hidden.bias.sum().backward()
    (model.policy.weight**2).sum().backward()
    optimizer.step()
    after = policy.field_action_probs(batch, rows, seats, goals, cells)
    assert np.abs(after - before).max() > 1e-3
    np.testing.assert_allclose(
        after, spread_reference(policy, batch, rows, seats, goals, cells), atol=2e-6
    )


def test_a_coplayer_who_left_gets_the_full_forward_pass():
    """A seat that left the game has no own channel to move: the fields of such rows come
    from the network on the spread states (bit for bit), the others' incrementally."""
    batch, rows, seats, goals, cells = field_queries(STAG_RULES, 3, seed=2)
    batch.active[1, seats[1]] = False
    config = NetworkConfig.for_rules(STAG_RULES, GOAL_OM, conv_channels=(4, 4), hidden=16)
    policy = LearnedCoplayerPolicy(build_network(config, seed=2), STAG_RULES)
    got = policy.field_action_probs(batch, rows, seats, goals, cells)
    reference = spread_reference(policy, batch, rows, seats, goals, cells)
    np.testing.assert_array_equal(got[1], reference[1])
    np.testing.assert_allclose(got, reference, atol=2e-6)
    assert not np.array_equal(got[[0, 2]], reference[[0, 2]])  # float32 sums in another order


def test_a_trunk_it_cannot_follow_is_refused():
    config = NetworkConfig.for_rules(STAG_RULES, GOAL_OM, conv_channels=(4,), hidden=16)
    model = build_network(config, seed=0)
    model.trunk.convs[1] = nn.Tanh()
    with pytest.raises(ValueError, match=r"3x3 same-padding convolutions .* ReLU; got"):
        IncrementalFieldModel(model)
    with pytest.raises(TypeError, match=r"GoalOpponentModel or ActionModel, got Linear"):
        IncrementalFieldModel(nn.Linear(2, 2))  # type: ignore[arg-type]
