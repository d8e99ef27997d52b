"""The multi-tree PUCT planner on hand-built positions with hand-worked values."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.hop.evaluators import RolloutEvaluator
from agents.hop.goal_sampling import BeliefGoalSampler, UniformGoalSampler, goal_exists
from agents.hop.interfaces import IDLE, PolicyQuery
from agents.hop.planner import MultiTreePlanner, PlannerConfig
from hop_envs.core import (
    HARE,
    HUNT_HARE,
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

UP, DOWN, LEFT, RIGHT = 0, 1, 2, 3


def cell(r: int, c: int, width: int = 5) -> int:
    return r * width + c


def open_layout(h: int = 5, w: int = 5) -> GridLayout:
    return GridLayout.from_walls(np.zeros((h, w), dtype=bool))


def stag_hunt(num_players: int, num_stags: int = 1, num_hares: int = 1, **kw) -> StagHuntRules:
    return StagHuntRules(
        StagHuntConfig(
            num_players=num_players,
            grid_size=5,
            num_stags=num_stags,
            num_hares=num_hares,
            num_wall_pieces=0,
            **kw,
        )
    )


class ScriptedPolicy:
    """Co-players that act on their goal prey/drift when standing on it, else stay.

    Goal ``None`` means "any object": act on whatever object is under the player. Every query
    is recorded so tests can check what the planner asked.
    """

    def __init__(self, rules) -> None:
        self.rules = rules
        self.queries: list[PolicyQuery] = []

    def action_probs(self, queries) -> np.ndarray:
        out = np.zeros((len(queries), self.rules.num_actions))
        for i, q in enumerate(queries):
            self.queries.append(PolicyQuery(q.state.copy(), q.player, q.goal))
            mask = self.rules.action_mask(q.state, q.player)
            action = STAY
            for a in range(5, self.rules.num_actions):
                if mask[a] and self._wants(q, a):
                    action = a
            out[i, action] = 1.0
        return out

    def _wants(self, q: PolicyQuery, action: int) -> bool:
        if q.goal is None:
            return True
        if isinstance(self.rules, StagHuntRules):
            return (q.goal == STAG and action == HUNT_STAG) or (
                q.goal == HARE and action == HUNT_HARE
            )
        return q.goal == int(q.state.player_pos[q.player])


class UniformPolicy:
    def __init__(self, rules) -> None:
        self.rules = rules
        self.queries: list[PolicyQuery] = []

    def action_probs(self, queries) -> np.ndarray:
        # Copies: rollout states are advanced in place after the query.
        self.queries.extend(PolicyQuery(q.state.copy(), q.player, q.goal) for q in queries)
        m = np.stack([self.rules.action_mask(q.state, q.player) for q in queries]).astype(float)
        return m / m.sum(1, keepdims=True)


class ConstantEvaluator:
    """Uniform priors over legal actions (or given raw priors) and a constant value."""

    def __init__(self, rules, value: float = 0.0, raw_prior=None) -> None:
        self.rules = rules
        self.value = value
        self.raw_prior = raw_prior
        self.evaluated = []

    def evaluate(self, states, player):
        self.evaluated.extend(states)
        if self.raw_prior is not None:
            priors = np.tile(np.asarray(self.raw_prior, dtype=float), (len(states), 1))
        else:
            m = np.stack([self.rules.action_mask(s, player) for s in states]).astype(float)
            priors = m / m.sum(1, keepdims=True)
        return priors, np.full(len(states), self.value)


class LineEvaluator:
    """Value 0; the prior is one-hot on hunt-hare where legal, else on RIGHT."""

    def __init__(self, rules) -> None:
        self.rules = rules

    def evaluate(self, states, player):
        priors = np.zeros((len(states), self.rules.num_actions))
        for i, s in enumerate(states):
            mask = self.rules.action_mask(s, player)
            priors[i, HUNT_HARE if mask[HUNT_HARE] else RIGHT] = 1.0
        return priors, np.zeros(len(states))


def plan(rules, state, player, policy, evaluator, seed=0, **cfg):
    planner = MultiTreePlanner(rules, PlannerConfig(**cfg))
    return planner.plan(state, player, policy, evaluator, np.random.default_rng(seed))


# -- best actions in hand-built positions ------------------------------------------------------
def test_joins_a_partner_hunting_the_stag_rather_than_taking_the_hare() -> None:
    # Focal at (2,2); stag at (2,3) with co-player 1 on it hunting every step; hare at (2,1).
    # Right then hunt-stag earns 10/2 = 5 at step 2; left then hunt-hare earns 1.
    rules = stag_hunt(2)
    state = rules.state_from_positions(
        open_layout(), player_pos=[cell(2, 2), cell(2, 3)], object_pos=[cell(2, 3), cell(2, 1)]
    )
    result = plan(rules, state, 0, ScriptedPolicy(rules), ConstantEvaluator(rules), num_trees=2)
    assert int(np.argmax(result.policy)) == RIGHT
    assert result.q_values[RIGHT] > result.q_values[LEFT] > 0.0


def test_moves_onto_a_lone_adjacent_hare() -> None:
    rules = stag_hunt(2, num_stags=0, num_hares=1)
    state = rules.state_from_positions(
        open_layout(), player_pos=[cell(2, 2), cell(4, 4)], object_pos=[cell(1, 2)]
    )
    result = plan(rules, state, 0, ScriptedPolicy(rules), ConstantEvaluator(rules), num_trees=2)
    assert int(np.argmax(result.policy)) == UP


def test_six_players_focal_joins_the_one_co_player_on_the_stag() -> None:
    rules = stag_hunt(6)
    far = cell(4, 0)
    state = rules.state_from_positions(
        open_layout(),
        player_pos=[cell(1, 2), far, far, far, cell(2, 2), far],
        object_pos=[cell(2, 2), cell(0, 4)],
    )

    class OnlySeat4Hunts(ScriptedPolicy):
        def _wants(self, q, action):
            return q.player == 4

    policy = OnlySeat4Hunts(rules)
    result = plan(rules, state, 0, policy, ConstantEvaluator(rules), num_trees=2)
    assert int(np.argmax(result.policy)) == DOWN
    assert {q.player for q in policy.queries} == {1, 2, 3, 4, 5}


# -- terminals and discounting, by hand --------------------------------------------------------
def test_one_step_hare_capture_has_q_exactly_one() -> None:
    # The hunt ends the focal's game (it leaves): reward 1, counted once, and the leaf value
    # 100 of the evaluator is never bootstrapped past it.
    rules = stag_hunt(2, num_stags=1, num_hares=1)
    state = rules.state_from_positions(
        open_layout(), player_pos=[cell(2, 2), cell(4, 4)], object_pos=[cell(0, 0), cell(2, 2)]
    )
    evaluator = ConstantEvaluator(rules, value=100.0)
    result = plan(rules, state, 0, ScriptedPolicy(rules), evaluator, num_trees=3)
    assert result.tree_q[:, HUNT_HARE].tolist() == [1.0, 1.0, 1.0]
    assert result.q_values[HUNT_HARE] == 1.0
    # Non-terminal leaves are bootstrapped: staying is worth far more than the hare.
    assert 1.0 < result.q_values[STAY] <= 0.95 * 100.0
    # Terminal nodes are never evaluated.
    assert all(s.active[0] and not s.over for s in evaluator.evaluated)


def test_a_focal_that_left_while_others_play_on_has_value_zero() -> None:
    # Three players, two hares: the focal's capture does not end the episode, yet the focal
    # has left, so Q(hunt-hare) is its reward 1 and nothing more.
    rules = stag_hunt(3, num_stags=0, num_hares=2)
    state = rules.state_from_positions(
        open_layout(),
        player_pos=[cell(2, 2), cell(4, 4), cell(4, 3)],
        object_pos=[cell(2, 2), cell(0, 0)],
    )
    result = plan(rules, state, 0, ScriptedPolicy(rules), ConstantEvaluator(rules, 100.0))
    assert result.tree_q[:, HUNT_HARE].tolist() == [1.0] * 5


def test_snowdrift_last_drift_removed_alone_is_worth_exactly_two() -> None:
    rules = SnowdriftRules(SnowdriftConfig(num_players=2, grid_size=5, num_drifts=1))
    state = rules.state_from_positions(
        open_layout(), player_pos=[cell(1, 1), cell(3, 3)], object_pos=[cell(1, 1)]
    )
    result = plan(
        rules, state, 0, ScriptedPolicy(rules), ConstantEvaluator(rules, 50.0), num_trees=2
    )
    assert result.tree_q[:, REMOVE].tolist() == [6.0 - 4.0, 6.0 - 4.0]


@pytest.mark.parametrize("leaves_per_round", [1, 4])
def test_two_step_line_is_discounted_once_per_step(leaves_per_round: int) -> None:
    # Focal one step left of a hare. The prior sends every non-root visit along RIGHT then
    # hunt-hare. The first visit of RIGHT reaches a new leaf of value 0 and backs up 0;
    # every later one backs up 0 + 0.95 * (1 + 0.95 * 0) = 0.95.
    rules = stag_hunt(2, num_stags=0, num_hares=1)
    state = rules.state_from_positions(
        open_layout(), player_pos=[cell(2, 1), cell(4, 4)], object_pos=[cell(2, 2)]
    )
    config = PlannerConfig(num_trees=1, num_simulations=40, leaves_per_round=leaves_per_round)
    planner = MultiTreePlanner(rules, config)
    result = planner.plan(
        state, 0, ScriptedPolicy(rules), LineEvaluator(rules), np.random.default_rng(0)
    )
    n_right = int(result.visit_counts[0, RIGHT])
    assert n_right > 30
    assert result.tree_q[0, RIGHT] * n_right == pytest.approx(0.95 * (n_right - 1), rel=1e-12)
    for a in (UP, DOWN, LEFT, STAY):  # each tried once, reaching a value-0 leaf
        assert result.visit_counts[0, a] == 1
        assert result.tree_q[0, a] == 0.0


def test_max_depth_stops_expansion() -> None:
    rules = stag_hunt(2, num_stags=0, num_hares=1)
    state = rules.state_from_positions(
        open_layout(), player_pos=[cell(2, 1), cell(4, 4)], object_pos=[cell(2, 2)]
    )
    result = plan(
        rules, state, 0, ScriptedPolicy(rules), LineEvaluator(rules), num_trees=1, max_depth=1
    )
    assert result.tree_q[0, RIGHT] == 0.0  # the hare is two steps away, beyond the horizon


def test_coplayer_model_is_asked_only_where_the_search_goes_through() -> None:
    # One simulation per tree: the roots are expanded (one query per tree and co-player),
    # the new leaves are only evaluated.
    rules = stag_hunt(3)
    state = rules.reset(np.random.default_rng(2))
    policy = UniformPolicy(rules)
    planner = MultiTreePlanner(rules, PlannerConfig(num_trees=4, num_simulations=1))
    evaluator = ConstantEvaluator(rules)
    planner.plan(state, 0, policy, evaluator, np.random.default_rng(0))
    assert [(q.state.t, q.player) for q in policy.queries] == [(0, 1), (0, 2)] * 4
    assert [s.t for s in evaluator.evaluated] == [0, 1, 1, 1, 1]


@pytest.mark.parametrize("leaves_per_round", [2, 5, 16])
def test_batched_leaves_leave_no_virtual_visits_behind(leaves_per_round: int) -> None:
    rules = stag_hunt(4, num_hares=4)
    state = rules.reset(np.random.default_rng(8))
    policy = UniformPolicy(rules)
    config = PlannerConfig(num_trees=2, num_simulations=23, leaves_per_round=leaves_per_round)
    planner = MultiTreePlanner(rules, config)
    calls = []

    class Counting(ConstantEvaluator):
        def evaluate(self, states, player):
            calls.append(len(states))
            return super().evaluate(states, player)

    result = planner.plan(state, 0, policy, Counting(rules), np.random.default_rng(0))
    assert (result.visit_counts.sum(1) == 23).all()
    # 1 root call, then one call per round of leaves_per_round simulations per tree.
    assert len(calls) <= 1 + -(-23 // leaves_per_round)
    assert max(calls[1:]) <= 2 * leaves_per_round


# -- masks, determinism, root policy -----------------------------------------------------------
def test_illegal_actions_get_probability_zero_even_with_priors_on_them() -> None:
    rules = stag_hunt(2)
    state = rules.state_from_positions(
        open_layout(), player_pos=[cell(0, 0), cell(4, 4)], object_pos=[cell(3, 3), cell(2, 2)]
    )
    bad_prior = [0.3, 0.0, 0.3, 0.0, 0.0, 0.2, 0.2]  # up, left, hunts: all illegal at (0,0)
    for selection in ("q_boltzmann", "visits"):
        result = plan(
            rules,
            state,
            0,
            UniformPolicy(rules),
            ConstantEvaluator(rules, raw_prior=bad_prior),
            num_trees=2,
            num_simulations=30,
            root_selection=selection,
            dirichlet_fraction=0.5,
        )
        for a in (UP, LEFT, HUNT_STAG, HUNT_HARE):
            assert result.policy[a] == 0.0
            assert result.visit_counts[:, a].sum() == 0
        assert result.legal.tolist() == [False, True, False, True, True, False, False]
        assert result.policy.sum() == pytest.approx(1.0)


def test_visits_root_selection_is_the_visit_count_without_forced_visits() -> None:
    # 20 simulations per tree, so every legal root action gets its one forced visit in each
    # of the two trees; without root noise those are all the visit target leaves out.
    rules = stag_hunt(2)
    state = rules.reset(np.random.default_rng(3))
    policy = UniformPolicy(rules)
    result = plan(
        rules,
        state,
        0,
        policy,
        RolloutEvaluator(rules, policy, seed=0),
        num_trees=2,
        num_simulations=20,
        root_selection="visits",
    )
    counts = result.visit_counts.sum(0)
    assert counts.sum() == 40
    forced = 2 * result.legal
    assert (counts[result.legal] >= 2).all()
    np.testing.assert_allclose(result.policy, (counts - forced) / (40 - forced.sum()))
    np.testing.assert_array_equal(result.policy, result.visit_policy)


def test_boltzmann_policy_from_the_visit_weighted_q() -> None:
    # With lcb_stderrs 0 the policy is softmax(beta * Q) with Q the trees' root Q weighted
    # by their visits (not the plain mean over trees: the trees give the actions different
    # numbers of visits).
    rules = stag_hunt(2)
    state = rules.reset(np.random.default_rng(4))
    policy = UniformPolicy(rules)
    result = plan(
        rules,
        state,
        0,
        policy,
        RolloutEvaluator(rules, policy, depth=3, seed=0),
        num_trees=3,
        num_simulations=20,
        beta=2.0,
        lcb_stderrs=0.0,
    )
    tried = result.visit_counts.sum(0) > 0
    n = result.visit_counts[:, tried]
    assert (n > 0).all()  # every tree tries every legal root action
    q = (n * result.tree_q[:, tried]).sum(0) / n.sum(0)
    np.testing.assert_allclose(result.q_values[tried], q)
    assert not np.allclose(q, result.tree_q[:, tried].mean(0))  # the weighting matters
    expected = np.exp(2.0 * (q - q.max()))
    np.testing.assert_allclose(result.policy[tried], expected / expected.sum())
    assert result.value == pytest.approx(float((result.policy[tried] * q).sum()))


def test_same_seed_same_search() -> None:
    rules = stag_hunt(4, num_hares=4)
    state = rules.reset(np.random.default_rng(5))

    def run(seed):
        policy = UniformPolicy(rules)
        evaluator = RolloutEvaluator(rules, policy, depth=4, seed=seed, focal_policy="greedy")
        planner = MultiTreePlanner(
            rules, PlannerConfig(num_trees=3, num_simulations=25, dirichlet_fraction=0.25)
        )
        return planner.plan(
            state,
            1,
            policy,
            evaluator,
            np.random.default_rng(seed),
            goal_sampler=UniformGoalSampler(rules),
        )

    a, b = run(11), run(11)
    np.testing.assert_array_equal(a.policy, b.policy)
    np.testing.assert_array_equal(a.visit_counts, b.visit_counts)
    np.testing.assert_array_equal(a.tree_q, b.tree_q)


# -- goals inside the tree ---------------------------------------------------------------------
def test_goal_captured_inside_the_tree_is_redrawn_from_what_remains() -> None:
    # Co-player 2 stands on the only hare and hunts it at once; co-player 1 also wanted the
    # hare, so below the root it must be given the stag, the only goal left.
    rules = stag_hunt(3)
    state = rules.state_from_positions(
        open_layout(),
        player_pos=[cell(0, 0), cell(4, 0), cell(2, 2)],
        object_pos=[cell(4, 4), cell(2, 2)],
    )
    policy = ScriptedPolicy(rules)
    plan_goals = [{1: HARE, 2: HARE}] * 2
    planner = MultiTreePlanner(rules, PlannerConfig(num_trees=2, num_simulations=20))
    planner.plan(
        state, 0, policy, ConstantEvaluator(rules), np.random.default_rng(0), goals=plan_goals
    )
    after = [q for q in policy.queries if not q.state.object_alive[1]]
    assert after, "the hare is captured in the first step of every branch"
    assert all(goal_exists(rules, q.state, q.goal) for q in policy.queries)
    assert {q.goal for q in after if q.player == 1} == {STAG}
    assert {q.goal for q in policy.queries if q.state.t == 0 and q.player == 1} == {HARE}


def test_removed_drift_goal_is_redrawn_from_the_belief() -> None:
    rules = SnowdriftRules(SnowdriftConfig(num_players=3, grid_size=5, num_drifts=3))
    drifts = [cell(2, 2), cell(0, 4), cell(4, 4)]
    state = rules.state_from_positions(
        open_layout(), player_pos=[cell(0, 0), cell(4, 0), cell(2, 2)], object_pos=drifts
    )
    # Player 1 believes in drift (2,2) (about to go) and then (4,4), never (0,4).
    sampler = BeliefGoalSampler(rules, {1: {drifts[0]: 0.7, drifts[2]: 0.3, drifts[1]: 0.0}})
    policy = ScriptedPolicy(rules)
    planner = MultiTreePlanner(rules, PlannerConfig(num_trees=2, num_simulations=20))
    planner.plan(
        state,
        0,
        policy,
        ConstantEvaluator(rules),
        np.random.default_rng(1),
        goals=[{1: drifts[0], 2: drifts[0]}] * 2,
        goal_sampler=sampler,
    )
    after = [q for q in policy.queries if not q.state.object_alive[0]]
    assert after
    assert {q.goal for q in after if q.player == 1} == {drifts[2]}
    # Player 2 has no belief entry: drawn uniformly from the drifts left.
    assert {q.goal for q in after if q.player == 2} <= {drifts[1], drifts[2]}


def test_goal_orderings_give_the_next_goal_before_the_sampler_is_asked() -> None:
    rules = SnowdriftRules(SnowdriftConfig(num_players=3, grid_size=5, num_drifts=3))
    drifts = [cell(2, 2), cell(0, 4), cell(4, 4)]
    state = rules.state_from_positions(
        open_layout(), player_pos=[cell(0, 0), cell(4, 0), cell(2, 2)], object_pos=drifts
    )
    # The sampler would say (0,4); player 1's ordering says (2,2), then (4,4), then idle.
    sampler = BeliefGoalSampler(rules, {1: {drifts[1]: 1.0}, 2: {drifts[1]: 1.0}})
    policy = ScriptedPolicy(rules)
    planner = MultiTreePlanner(rules, PlannerConfig(num_trees=1, num_simulations=20))
    planner.plan(
        state,
        0,
        policy,
        ConstantEvaluator(rules),
        np.random.default_rng(1),
        goals=[{1: [drifts[0], drifts[2], IDLE], 2: drifts[0]}],
        goal_sampler=sampler,
    )
    after = [q for q in policy.queries if not q.state.object_alive[0]]
    assert after
    assert {q.goal for q in after if q.player == 1} == {drifts[2]}
    assert {q.goal for q in after if q.player == 2} == {drifts[1]}  # no ordering: the sampler


def test_root_goal_that_no_longer_exists_is_redrawn_and_idle_when_nothing_is_left() -> None:
    rules = stag_hunt(3)
    state = rules.state_from_positions(
        open_layout(),
        player_pos=[cell(0, 0), cell(4, 0), cell(3, 3)],
        object_pos=[cell(4, 4), cell(2, 2)],
        object_alive=[True, False],
    )
    policy = ScriptedPolicy(rules)
    planner = MultiTreePlanner(rules, PlannerConfig(num_trees=1, num_simulations=5))
    planner.plan(
        state,
        0,
        policy,
        ConstantEvaluator(rules),
        np.random.default_rng(0),
        goals=[{1: HARE, 2: IDLE}],
    )
    assert {q.goal for q in policy.queries if q.player == 1} == {STAG}
    assert {q.goal for q in policy.queries if q.player == 2} == {IDLE}
    assert (
        UniformGoalSampler(rules)(
            rules.state_from_positions(open_layout(), [0, 1, 2], [3, 4], object_alive=[False] * 2),
            1,
            np.random.default_rng(0),
        )
        == IDLE
    )


def test_goal_sampler_draws_every_tree_its_own_goals() -> None:
    rules = stag_hunt(2, num_stags=1, num_hares=3)
    state = rules.reset(np.random.default_rng(0))
    policy = UniformPolicy(rules)
    planner = MultiTreePlanner(rules, PlannerConfig(num_trees=5, num_simulations=1))
    sampler = BeliefGoalSampler(rules, {1: {STAG: 1.0, HARE: 0.0}})
    planner.plan(
        state, 0, policy, ConstantEvaluator(rules), np.random.default_rng(0), goal_sampler=sampler
    )
    root_goals = [q.goal for q in policy.queries if q.state.t == 0]
    assert root_goals == [STAG] * 5


# -- any number of players, generic checks -----------------------------------------------------
@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    num_players=st.sampled_from([2, 3, 6, 8]),
    snowdrift=st.booleans(),
)
def test_search_invariants_on_random_positions(seed: int, num_players: int, snowdrift: bool):
    if snowdrift:
        rules = SnowdriftRules(SnowdriftConfig(num_players=num_players, grid_size=6))
    else:
        rules = StagHuntRules(StagHuntConfig(num_players=num_players, grid_size=6))
    rng = np.random.default_rng(seed)
    state = rules.reset(rng)
    player = int(rng.integers(num_players))
    policy = UniformPolicy(rules)
    evaluator = RolloutEvaluator(rules, policy, depth=2, seed=seed)
    planner = MultiTreePlanner(rules, PlannerConfig(num_trees=2, num_simulations=12))
    result = planner.plan(
        state, player, policy, evaluator, rng, goal_sampler=UniformGoalSampler(rules)
    )
    legal = rules.action_mask(state, player).astype(bool)
    assert result.policy.sum() == pytest.approx(1.0)
    assert (result.policy[~legal] == 0).all()
    assert (result.visit_counts.sum(1) == 12).all()
    assert {q.player for q in policy.queries} == set(range(num_players)) - {player}
    assert all(goal_exists(rules, q.state, q.goal) for q in policy.queries)


# -- bad input ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("num_trees", 0),
        ("num_simulations", 1.5),
        ("c_puct", -1.0),
        ("discount", 1.5),
        ("beta", float("nan")),
        ("root_selection", "max"),
        ("dirichlet_alpha", 0.0),
        ("dirichlet_fraction", 2.0),
        ("max_depth", 0),
        ("lcb_stderrs", -1.0),
    ],
)
def test_config_rejects_bad_values(field: str, value) -> None:
    with pytest.raises(ValueError, match=field):
        PlannerConfig(**{field: value})


def test_plan_rejects_finished_states_absent_players_and_bad_models() -> None:
    rules = stag_hunt(2)
    planner = MultiTreePlanner(rules, PlannerConfig(num_trees=1, num_simulations=2))
    state = rules.reset(np.random.default_rng(0))
    policy, evaluator, rng = UniformPolicy(rules), ConstantEvaluator(rules), np.random.default_rng()
    with pytest.raises(ValueError, match="player must be a seat"):
        planner.plan(state, 2, policy, evaluator, rng)
    gone = state.copy()
    gone.active[0] = False
    with pytest.raises(ValueError, match="player 0 has left"):
        planner.plan(gone, 0, policy, evaluator, rng)
    over = state.copy()
    over.over = True
    with pytest.raises(ValueError, match="episode is over"):
        planner.plan(over, 0, policy, evaluator, rng)
    with pytest.raises(ValueError, match="one mapping per tree"):
        planner.plan(state, 0, policy, evaluator, rng, goals=[{1: STAG}] * 2)
    with pytest.raises(ValueError, match=r"no goal for co-player seats \[1\]"):
        planner.plan(state, 0, policy, evaluator, rng, goals=[{}])

    class Broken:
        def action_probs(self, queries):
            return np.full((len(queries), rules.num_actions), 0.5)

    with pytest.raises(ValueError, match="summing to 1"):
        planner.plan(state, 0, Broken(), evaluator, rng)


# -- rollout evaluator and goal samplers ---------------------------------------------------------
def test_greedy_rollout_value_by_hand() -> None:
    # Focal two steps left of the only hare: right, right, hunt -> reward 1 at the third
    # step, worth 0.95^2; a depth-2 rollout stops before the hunt and is worth 0.
    rules = stag_hunt(2, num_stags=0, num_hares=1)
    state = rules.state_from_positions(
        open_layout(), player_pos=[cell(2, 1), cell(4, 4)], object_pos=[cell(2, 3)]
    )
    policy = ScriptedPolicy(rules)
    deep = RolloutEvaluator(rules, policy, depth=5, focal_policy="greedy", seed=0)
    priors, values = deep.evaluate([state], 0)
    assert values.tolist() == [pytest.approx(0.95**2, abs=1e-15)]
    np.testing.assert_allclose(priors[0], [0.2] * 5 + [0, 0])  # uniform: 4 moves + stay
    short = RolloutEvaluator(rules, policy, depth=2, focal_policy="greedy", seed=0)
    assert short.evaluate([state], 0)[1].tolist() == [0.0]
    assert state.player_pos.tolist() == [cell(2, 1), cell(4, 4)]  # rollouts work on copies


def test_best_kind_rollouts_value_the_far_stag_a_partner_is_hunting() -> None:
    # Stag two steps right with co-player 1 on it hunting every step; hare two steps left.
    # Heading for the stag: 10 / 2 = 5 at the third step (0.95^2 * 5); for the hare 0.95^2.
    rules = stag_hunt(2)
    state = rules.state_from_positions(
        open_layout(), player_pos=[cell(2, 2), cell(2, 4)], object_pos=[cell(2, 4), cell(2, 0)]
    )
    evaluator = RolloutEvaluator(rules, ScriptedPolicy(rules), depth=6, focal_policy="best-kind")
    evaluator.reset(seed=0)
    assert evaluator.evaluate([state], 0)[1].tolist() == [pytest.approx(0.95**2 * 5.0)]


def test_rollout_evaluator_and_belief_sampler_reject_bad_arguments() -> None:
    rules = stag_hunt(2)
    policy = UniformPolicy(rules)
    for kwargs, field in [
        ({"depth": -1}, "depth"),
        ({"num_rollouts": 0}, "num_rollouts"),
        ({"discount": 1.5}, "discount"),
        ({"focal_policy": "clever"}, "focal_policy"),
    ]:
        with pytest.raises(ValueError, match=field):
            RolloutEvaluator(rules, policy, **kwargs)
    with pytest.raises(ValueError, match="belief of player 1"):
        BeliefGoalSampler(rules, {1: {STAG: -0.5, HARE: 1.0}})
