"""Leaf values: network priors with goal-aware rollout values, mixed by hand-worked weights."""

from __future__ import annotations

import numpy as np
import pytest

from agents.hop.evaluators import RolloutEvaluator
from agents.hop.interfaces import IDLE, PolicyQuery
from agents.hop.leaf_values import (
    LeafValueConfig,
    MixedEvaluator,
    build_leaf_evaluator,
)
from agents.hop.learned import NetworkEvaluator
from agents.hop.networks import FOCAL, NetworkConfig, build_network
from agents.hop.planner import GoalAwareEvaluator
from hop_envs.core import (
    HARE,
    HUNT_STAG,
    REMOVE,
    STAG,
    STAY,
    GridLayout,
    SnowdriftConfig,
    SnowdriftRules,
    StagHuntConfig,
    StagHuntRules,
)

WIDTH = 5


def cell(r: int, c: int) -> int:
    return r * WIDTH + c


def two_player_hunt() -> StagHuntRules:
    return StagHuntRules(
        StagHuntConfig(num_players=2, grid_size=WIDTH, num_stags=1, num_hares=1, num_wall_pieces=0)
    )


class StagOnlyIfGoal:
    """A co-player standing on the stag: hunts it when its goal is STAG, else stays."""

    def __init__(self, rules: StagHuntRules) -> None:
        self.rules = rules

    def action_probs(self, queries: list[PolicyQuery]) -> np.ndarray:
        out = np.zeros((len(queries), self.rules.num_actions))
        for i, q in enumerate(queries):
            legal = self.rules.action_mask(q.state, q.player)
            out[i, HUNT_STAG if q.goal == STAG and legal[HUNT_STAG] else STAY] = 1.0
        return out


@pytest.fixture
def position():
    # Focal at (2, 2); co-player 1 on the stag at (2, 4); the hare at (2, 0). Both prey are
    # two steps from the focal player.
    rules = two_player_hunt()
    layout = GridLayout.from_walls(np.zeros((WIDTH, WIDTH), dtype=bool))
    state = rules.state_from_positions(
        layout, player_pos=[cell(2, 2), cell(2, 4)], object_pos=[cell(2, 4), cell(2, 0)]
    )
    focal = build_network(NetworkConfig.for_rules(rules, FOCAL), 0)
    focal.eval()
    return rules, state, focal


def never_redraw(state, seat):  # the goals never disappear in these rollouts
    raise AssertionError("no goal is removed in this position")


def evaluator_for(position, **config):
    """The leaf evaluator of ``LeafValueConfig(**config)`` with the scripted partner."""
    rules, _, focal = position
    return build_leaf_evaluator(
        LeafValueConfig(**config), rules, focal, StagOnlyIfGoal(rules), discount=0.95, seed=0
    )


def test_rollout_value_depends_on_the_co_players_goal(position) -> None:
    # With the partner hunting the stag, heading for it pays 10 / 2 = 5 at the third step:
    # 0.95^2 * 5. With the partner after a hare it never hunts the stag, so the best the focal
    # player can do is its own hare, 1 at the third step: 0.95^2.
    rules, state, focal = position
    evaluator = evaluator_for(position, rollout_weight=1.0, rollout_depth=6)
    assert isinstance(evaluator, MixedEvaluator)
    assert isinstance(evaluator, GoalAwareEvaluator)
    priors, values = evaluator.evaluate_with_goals(
        [state, state], 0, [(None, STAG), (None, HARE)], never_redraw
    )
    assert values.tolist() == [pytest.approx(0.95**2 * 5.0), pytest.approx(0.95**2)]
    net_priors, _ = NetworkEvaluator(focal, rules).evaluate([state, state], 0)
    np.testing.assert_allclose(priors, net_priors)  # priors stay the network's


def test_values_mix_network_and_rollouts_by_the_weight(position) -> None:
    rules, state, focal = position
    _, net_values = NetworkEvaluator(focal, rules).evaluate([state], 0)
    evaluator = evaluator_for(position, rollout_weight=0.25, rollout_depth=6)
    _, values = evaluator.evaluate_with_goals([state], 0, [(None, STAG)], never_redraw)
    expected = 0.75 * float(net_values[0]) + 0.25 * 0.95**2 * 5.0
    assert values.tolist() == [pytest.approx(expected)]


def test_rollout_depth_cuts_the_value(position) -> None:
    # The capture happens at the third step: a two-step rollout sees nothing.
    _, state, _ = position
    evaluator = evaluator_for(position, rollout_weight=1.0, rollout_depth=2)
    _, values = evaluator.evaluate_with_goals([state], 0, [(None, STAG)], never_redraw)
    assert values.tolist() == [0.0]


def test_zero_rollout_weight_is_the_plain_network_evaluator(position) -> None:
    evaluator = evaluator_for(position, rollout_weight=0.0)
    assert type(evaluator) is NetworkEvaluator
    assert not isinstance(evaluator, GoalAwareEvaluator)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("rollout_weight", -0.1),
        ("rollout_weight", 1.5),
        ("rollout_weight", True),
        ("rollout_weight", "1"),
        ("rollout_depth", 0),
        ("rollout_depth", 2.0),
        ("num_rollouts", 0),
        ("rollout_policy", "smart"),
    ],
)
def test_config_rejects_bad_values_and_names_them(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=f"LeafValueConfig.{field}.*{value!r}"):
        LeafValueConfig(**{field: value})


def test_mixed_evaluator_rejects_a_zero_weight(position) -> None:
    rules, _, focal = position
    with pytest.raises(ValueError, match=r"rollout_weight must be in \(0, 1\], got 0.0"):
        MixedEvaluator(NetworkEvaluator(focal, rules), object(), 0.0)  # type: ignore[arg-type]


# -- waiting as a rollout option (snowdrift) ---------------------------------------------------
class RemovesItsGoal:
    """A co-player that removes its goal drift when standing on it, else stays."""

    def __init__(self, rules: SnowdriftRules) -> None:
        self.rules = rules

    def action_probs(self, queries: list[PolicyQuery]) -> np.ndarray:
        out = np.zeros((len(queries), self.rules.num_actions))
        for i, q in enumerate(queries):
            on_goal = q.goal == int(q.state.player_pos[q.player])
            legal = self.rules.action_mask(q.state, q.player)
            out[i, REMOVE if on_goal and legal[REMOVE] else STAY] = 1.0
        return out


def one_drift(removal_cost: float = 4.0) -> tuple[SnowdriftRules, object]:
    # Both players stand on the only drift, at (1, 1).
    rules = SnowdriftRules(
        SnowdriftConfig(
            num_players=2,
            grid_size=WIDTH,
            num_drifts=1,
            num_wall_pieces=0,
            removal_cost=removal_cost,
        )
    )
    layout = GridLayout.from_walls(np.zeros((WIDTH, WIDTH), dtype=bool))
    state = rules.state_from_positions(
        layout, player_pos=[cell(1, 1), cell(1, 1)], object_pos=[cell(1, 1)]
    )
    return rules, state


@pytest.mark.parametrize(
    ("policy", "goal", "expected"),
    [
        # The co-player removes the drift now. Removing with it: 6 - 4 / 2 = 4; waiting: 6.
        ("best-option", cell(1, 1), 6.0),
        ("greedy", cell(1, 1), 4.0),
        # The co-player is idle: removing alone nets 6 - 4 = 2, waiting gets nothing.
        ("best-option", IDLE, 2.0),
        ("greedy", IDLE, 2.0),
    ],
)
def test_best_option_values_leaving_the_work_to_a_co_player(policy, goal, expected) -> None:
    rules, state = one_drift()
    rollouts = RolloutEvaluator(rules, RemovesItsGoal(rules), depth=5, focal_policy=policy)
    rollouts.reset(seed=0)
    _, values = rollouts.evaluate_with_goals([state], 0, [(None, goal)], never_redraw)
    assert values.tolist() == [pytest.approx(expected)]
