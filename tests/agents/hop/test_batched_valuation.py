"""Batched leaf valuation: features from batched states, the per-decision co-player cache
and rollouts on the batched core, checked against the scalar paths and by hand."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from agents.hop.batched_features import BatchedFeatureBuilder
from agents.hop.coplayer_cache import CachedCoplayerPolicy
from agents.hop.evaluators import RolloutEvaluator
from agents.hop.features import FeatureBuilder
from agents.hop.interfaces import IDLE, NO_GOAL, PolicyQuery
from agents.hop.learned import LearnedCoplayerPolicy
from agents.hop.networks import GOAL_OM, NetworkConfig, build_network
from hop_envs.core import (
    HARE,
    STAG,
    STAY,
    BatchedGame,
    BatchedState,
    GridLayout,
    SnowdriftConfig,
    SnowdriftRules,
    StagHuntConfig,
    StagHuntRules,
)


def random_states(rules, count: int, seed: int, *, same_board: bool = False):
    """States after a few random steps; with ``same_board`` all start from one reset."""
    rng = np.random.default_rng(seed)
    start = rules.reset(rng)
    out = []
    while len(out) < count:
        state = start.copy() if same_board else rules.reset(rng)
        for _ in range(int(rng.integers(0, 6))):
            masks = rules.action_masks(state)
            rules.step(state, [int(rng.choice(np.flatnonzero(m))) for m in masks])
            if state.over:
                break
        if not state.over:
            out.append(state)
    return out


def goals_for(rules, states, seats, rng):
    return np.asarray(
        [
            int(rng.choice([*rules.goals.available(s), IDLE]))
            for s, j in zip(states, seats, strict=True)
        ]
    )


def goal_model(rules, seed: int = 0) -> LearnedCoplayerPolicy:
    model = build_network(NetworkConfig.for_rules(rules, GOAL_OM), seed)
    model.eval()
    return LearnedCoplayerPolicy(model, rules)


RULES = [
    StagHuntRules(StagHuntConfig()),
    SnowdriftRules(SnowdriftConfig()),
    StagHuntRules(StagHuntConfig(num_players=3, grid_size=5, num_wall_pieces=2)),
]


# -- batched state rows --------------------------------------------------------------------
def test_take_and_state_at_copy_rows_in_the_order_asked() -> None:
    rules = RULES[0]
    states = random_states(rules, 3, 0)
    batch = BatchedState.stack(states)
    taken = batch.take([2, 0, 2])
    assert taken.player_pos.tolist() == [
        states[2].player_pos.tolist(),
        states[0].player_pos.tolist(),
        states[2].player_pos.tolist(),
    ]
    taken.player_pos[0, 0] = -7  # a copy: the source batch is untouched
    assert batch.player_pos[2, 0] == states[2].player_pos[0]
    again = batch.state_at(1, states[1].layout)
    assert again.layout is states[1].layout
    assert again.player_pos.tolist() == states[1].player_pos.tolist()
    assert again.object_alive.tolist() == states[1].object_alive.tolist()
    assert (again.t, again.over) == (states[1].t, states[1].over)


# -- features ------------------------------------------------------------------------------
@pytest.mark.parametrize("rules", RULES, ids=["msh", "msg", "msh-3p-walls"])
def test_batched_features_equal_the_scalar_features(rules) -> None:
    rng = np.random.default_rng(1)
    states = random_states(rules, 12, 1)
    rows = rng.integers(0, len(states), size=20)
    seats = rng.integers(0, rules.num_players, size=20)
    picked = [states[r] for r in rows]
    goals = goals_for(rules, picked, seats, rng)
    builder = FeatureBuilder(rules)
    expected = builder.build(picked, seats, goals)
    batched = BatchedFeatureBuilder(builder, BatchedGame(rules)).build(
        BatchedState.stack(states), rows, seats, goals
    )
    np.testing.assert_array_equal(batched.grids, expected.grids)
    np.testing.assert_array_equal(batched.masks, expected.masks)
    np.testing.assert_array_equal(batched.times, expected.times)
    np.testing.assert_array_equal(batched.goals, expected.goals)


@pytest.mark.parametrize("rules", RULES, ids=["msh", "msg", "msh-3p-walls"])
def test_batched_features_of_every_entry_in_order_leave_the_batch_as_it_was(rules) -> None:
    """Rows ``0..B-1`` read the batch itself (no copy): the same features, the batch intact."""
    rng = np.random.default_rng(2)
    states = random_states(rules, 9, 2)
    seats = rng.integers(0, rules.num_players, size=len(states))
    goals = goals_for(rules, states, seats, rng)
    builder = FeatureBuilder(rules)
    batch = BatchedState.stack(states)
    before = {
        f.name: getattr(batch, f.name).copy()
        for f in dataclasses.fields(batch)
        if isinstance(getattr(batch, f.name), np.ndarray)
    }
    batched = BatchedFeatureBuilder(builder, BatchedGame(rules)).build(
        batch, np.arange(len(states)), seats, goals
    )
    expected = builder.build(states, seats, goals)
    for name in ("grids", "masks", "times", "goals"):
        np.testing.assert_array_equal(getattr(batched, name), getattr(expected, name))
    for name, array in before.items():
        np.testing.assert_array_equal(getattr(batch, name), array)


def test_batched_model_answers_equal_the_scalar_answers() -> None:
    rules = RULES[1]
    policy = goal_model(rules)
    rng = np.random.default_rng(2)
    states = random_states(rules, 10, 2)
    seats = rng.integers(0, rules.num_players, size=10)
    goals = goals_for(rules, states, seats, rng)
    queries = [PolicyQuery(s, int(j), int(g)) for s, j, g in zip(states, seats, goals, strict=True)]
    batch = policy.batch_action_probs(BatchedState.stack(states), np.arange(10), seats, goals)
    np.testing.assert_allclose(batch, policy.action_probs(queries), atol=1e-6)
    with pytest.raises(ValueError, match=r"row 0 .*needs a goal"):
        policy.batch_action_probs(BatchedState.stack(states[:1]), [0], [1], [NO_GOAL])


# -- the per-decision cache ----------------------------------------------------------------
class CountingPolicy:
    """The goal model, counting the rows it is asked."""

    def __init__(self, inner: LearnedCoplayerPolicy) -> None:
        self.inner = inner
        self.rows = 0

    def action_probs(self, queries):
        self.rows += len(queries)
        return self.inner.action_probs(queries)

    def batch_action_probs(self, batch, rows, seats, goals):
        self.rows += len(rows)
        return self.inner.batch_action_probs(batch, rows, seats, goals)


def test_exact_cache_gives_the_models_answers_and_asks_each_key_once() -> None:
    rules = RULES[0]
    inner = goal_model(rules)
    counting = CountingPolicy(inner)
    cache = CachedCoplayerPolicy(counting, rules, "exact")
    states = random_states(rules, 6, 3, same_board=True)
    queries = [PolicyQuery(s, 1, STAG) for s in states] + [PolicyQuery(states[0], 2, HARE)]
    first = cache.action_probs(queries)
    np.testing.assert_allclose(first, inner.action_probs(queries), atol=1e-6)
    distinct = len({(s.player_pos.tobytes(), s.object_alive.tobytes(), s.t) for s in states}) + 1
    assert counting.rows == distinct
    second = cache.action_probs(queries[::-1])  # all known: nothing new is computed
    assert counting.rows == distinct
    np.testing.assert_array_equal(second, first[::-1])


def test_own_cell_cache_computes_a_whole_field_and_reuses_it_where_only_others_differ() -> None:
    # 5x5 open grid, 2 players, one stag and one hare.
    rules = StagHuntRules(StagHuntConfig(num_players=2, grid_size=5, num_hares=1))
    layout = GridLayout.from_walls(np.zeros((5, 5), dtype=bool))
    inner = goal_model(rules, seed=3)
    counting = CountingPolicy(inner)
    cache = CachedCoplayerPolicy(counting, rules, "own-cell")
    state = rules.state_from_positions(layout, player_pos=[0, 12], object_pos=[24, 4])
    got = cache.action_probs([PolicyQuery(state, 1, STAG)])
    assert counting.rows == 25  # the field: co-player 1 on each of the 25 free cells
    np.testing.assert_allclose(got, inner.action_probs([PolicyQuery(state, 1, STAG)]), atol=1e-6)
    # Co-player 1 on another cell: the field's row, i.e. the model's answer for the first
    # state with only co-player 1 moved, and nothing new is computed.
    moved = rules.state_from_positions(layout, player_pos=[0, 7], object_pos=[24, 4])
    np.testing.assert_allclose(
        cache.action_probs([PolicyQuery(moved, 1, STAG)]),
        inner.action_probs([PolicyQuery(moved, 1, STAG)]),
        atol=1e-6,
    )
    # The focal player elsewhere and a later time: same key, the stored answer.
    other = rules.state_from_positions(layout, player_pos=[20, 7], object_pos=[24, 4], t=5)
    np.testing.assert_array_equal(
        cache.action_probs([PolicyQuery(other, 1, STAG)]),
        cache.action_probs([PolicyQuery(moved, 1, STAG)]),
    )
    # Another seat on that cell with that goal: the same stored answer (only where the
    # others stand differs between the two views).
    np.testing.assert_array_equal(
        cache.action_probs(
            [PolicyQuery(rules.state_from_positions(layout, [7, 3], [24, 4]), 0, STAG)]
        ),
        cache.action_probs([PolicyQuery(moved, 1, STAG)]),
    )
    assert counting.rows == 25
    # Another goal, or the hare gone: new fields.
    cache.action_probs([PolicyQuery(moved, 1, HARE)])
    assert counting.rows == 50
    gone = rules.state_from_positions(
        layout, player_pos=[0, 7], object_pos=[24, 4], object_alive=[True, False]
    )
    cache.action_probs([PolicyQuery(gone, 1, STAG)])
    assert counting.rows == 75
    cache.clear()
    cache.action_probs([PolicyQuery(moved, 1, STAG)])
    assert counting.rows == 100


@pytest.mark.parametrize("mode", ["none", "exact", "own-cell"])
def test_queries_about_several_coplayers_of_one_state_answer_as_on_copies(mode: str) -> None:
    # The planner asks about every co-player of a node with the node's one state object;
    # the cache stacks that state once. The answers are those for separate copies.
    rules = RULES[0]
    inner = goal_model(rules)
    states = random_states(rules, 3, 5, same_board=True)
    goals = [STAG, HARE, IDLE]
    shared = [PolicyQuery(s, j, goals[j - 1]) for s in states for j in (1, 2, 3)]
    copies = [PolicyQuery(q.state.copy(), q.player, q.goal) for q in shared]
    np.testing.assert_array_equal(
        CachedCoplayerPolicy(inner, rules, mode).action_probs(shared),
        CachedCoplayerPolicy(inner, rules, mode).action_probs(copies),
    )


def test_cache_starts_over_on_a_new_board_and_passes_mixed_boards_through() -> None:
    rules = RULES[1]
    inner = goal_model(rules)
    counting = CountingPolicy(inner)
    cache = CachedCoplayerPolicy(counting, rules, "exact")
    a, b = random_states(rules, 2, 4)  # two resets: different drift cells
    cache.action_probs([PolicyQuery(a, 1, IDLE)])
    assert counting.rows == 1
    mixed = [PolicyQuery(a, 1, IDLE), PolicyQuery(b, 2, IDLE)]
    np.testing.assert_allclose(cache.action_probs(mixed), inner.action_probs(mixed), atol=1e-6)
    assert counting.rows == 3  # not cached: the two rows are on different boards
    cache.action_probs([PolicyQuery(b, 1, IDLE)])
    cache.action_probs([PolicyQuery(a, 1, IDLE)])  # the table now belongs to b's board
    assert counting.rows == 5


def test_cache_rejects_bad_modes_goals_and_policies() -> None:
    rules = RULES[0]
    inner = goal_model(rules)
    with pytest.raises(ValueError, match=r"mode must be one of .*'own-cell'.*got 'cells'"):
        CachedCoplayerPolicy(inner, rules, "cells")
    with pytest.raises(TypeError, match="has no batch_action_probs"):
        CachedCoplayerPolicy(object(), rules, "exact")  # type: ignore[arg-type]
    cache = CachedCoplayerPolicy(inner, rules, "exact")
    state = random_states(rules, 1, 5)[0]
    with pytest.raises(ValueError, match="goal 999 is outside"):
        cache.action_probs([PolicyQuery(state, 1, 999)])


# -- rollouts on the batched core ----------------------------------------------------------
class HuntOnGoal:
    """Co-players that hunt their goal prey when standing on it, else stay; answers both
    scalar and batched queries (the batched path is what the search uses)."""

    def __init__(self, rules) -> None:
        self.rules = rules
        self.batched_rows = 0

    def action_probs(self, queries):
        out = np.zeros((len(queries), self.rules.num_actions))
        for i, q in enumerate(queries):
            mask = self.rules.action_mask(q.state, q.player)
            action = 5 + q.goal if q.goal in (STAG, HARE) and mask[5 + q.goal] else STAY
            out[i, action] = 1.0
        return out

    def batch_action_probs(self, batch, rows, seats, goals):
        self.batched_rows += len(rows)
        layout = GridLayout.from_walls(batch.walls[0])
        return self.action_probs(
            [
                PolicyQuery(batch.state_at(r, layout), s, g)
                for r, s, g in zip(rows.tolist(), seats.tolist(), goals.tolist(), strict=True)
            ]
        )


class ScalarOnly:
    """A co-player policy with scalar queries only (asked through rebuilt states)."""

    def __init__(self, inner) -> None:
        self.inner = inner

    def action_probs(self, queries):
        return self.inner.action_probs(queries)


@pytest.mark.parametrize("batched", [False, True])
def test_best_kind_rollouts_by_hand_on_either_policy_path(batched: bool) -> None:
    # 5x5, focal at (2,2), co-player 1 on the stag at (2,4), hare at (2,0). With the
    # co-player hunting the stag, heading for it gives 10/2 at the third step: 0.95^2 * 5;
    # with the co-player after the hare (it stays), only the hare pays: 0.95^2 * 1.
    rules = StagHuntRules(StagHuntConfig(num_players=2, grid_size=5, num_hares=1))
    layout = GridLayout.from_walls(np.zeros((5, 5), dtype=bool))
    state = rules.state_from_positions(layout, player_pos=[12, 14], object_pos=[14, 10])
    policy = HuntOnGoal(rules) if batched else ScalarOnly(HuntOnGoal(rules))
    evaluator = RolloutEvaluator(rules, policy, depth=6, focal_policy="best-kind", seed=0)
    _, values = evaluator.evaluate_with_goals(
        [state, state], 0, [(None, STAG), (None, HARE)], lambda s, j: IDLE
    )
    np.testing.assert_allclose(values, [0.95**2 * 5.0, 0.95**2 * 1.0])
    assert not batched or policy.batched_rows > 0


def test_rollouts_of_leaves_on_different_layouts_equal_separate_calls() -> None:
    rules = StagHuntRules(StagHuntConfig(num_players=2, grid_size=5, num_hares=1))
    open_grid = GridLayout.from_walls(np.zeros((5, 5), dtype=bool))
    walls = np.zeros((5, 5), dtype=bool)
    walls[1:4, 3] = True  # a wall between the focal player and the stag: a longer way round
    walled = GridLayout.from_walls(walls)
    a = rules.state_from_positions(open_grid, player_pos=[12, 14], object_pos=[14, 10])
    b = rules.state_from_positions(walled, player_pos=[12, 14], object_pos=[14, 10])
    goals = [(None, STAG), (None, STAG)]

    def values(states, goal_rows):
        evaluator = RolloutEvaluator(rules, HuntOnGoal(rules), depth=8, focal_policy="greedy")
        return evaluator.evaluate_with_goals(states, 0, goal_rows, lambda s, j: IDLE)[1]

    together = values([a, b], goals)
    # Greedy heads for the nearest prey, the first in object order on a tie: on the open
    # grid the stag (2 steps, as far as the hare), hunted with the co-player at the third
    # step (10 / 2); behind the wall the stag is 6 steps away, so the hare (0.95^2 * 1).
    np.testing.assert_allclose(together, [0.95**2 * 5.0, 0.95**2])
    np.testing.assert_allclose(
        together, np.concatenate([values([a], goals[:1]), values([b], goals[1:])])
    )


def test_a_captured_goal_is_redrawn_inside_a_rollout() -> None:
    # Co-player 1 stands on the only hare with goal HARE and hunts it in the first step (and
    # leaves, as hunters do); co-player 2 was after the hare too, so its goal is gone.
    rules = StagHuntRules(StagHuntConfig(num_players=3, grid_size=5, num_hares=1))
    layout = GridLayout.from_walls(np.zeros((5, 5), dtype=bool))
    state = rules.state_from_positions(layout, player_pos=[0, 10, 24], object_pos=[4, 10])
    asked: list[tuple[int, int]] = []

    def redraw(s, seat):
        asked.append((seat, int(s.object_alive.sum())))
        return STAG

    evaluator = RolloutEvaluator(rules, HuntOnGoal(rules), depth=3, focal_policy="random")
    evaluator.evaluate_with_goals([state], 0, [(None, HARE, HARE)], redraw)
    # Seat 2's goal is redrawn once, on the state with only the stag alive; seat 1 left.
    assert asked == [(2, 1)]


def test_planning_agents_take_an_om_cache_mode_and_name_a_bad_one() -> None:
    from agents.hop.agent import HopAgent
    from agents.hop.variants import DirectOMAgent

    assert HopAgent(weights=None).om_cache == "own-cell"
    assert DirectOMAgent(weights=None, om_cache="exact").om_cache == "exact"
    with pytest.raises(ValueError, match=r"HopAgent: om_cache must be one of .*got 'fast'"):
        HopAgent(weights=None, om_cache="fast")


def test_the_root_is_asked_for_priors_only_and_never_rolled_out() -> None:
    from agents.hop.planner import MultiTreePlanner, PlannerConfig

    rules = StagHuntRules(StagHuntConfig(num_players=2, grid_size=5, num_hares=1))
    layout = GridLayout.from_walls(np.zeros((5, 5), dtype=bool))
    root = rules.state_from_positions(layout, player_pos=[12, 14], object_pos=[14, 10])

    class Recording(RolloutEvaluator):
        def __init__(self) -> None:
            super().__init__(rules, HuntOnGoal(rules), depth=3, focal_policy="greedy", seed=0)
            self.prior_calls: list[int] = []
            self.rolled_out: list[int] = []

        def priors(self, states, player):
            self.prior_calls.append(len(states))
            return super().priors(states, player)

        def _rollouts(self, states, player, goals, redraw):
            self.rolled_out.extend(s.t for s in states)
            return super()._rollouts(states, player, goals, redraw)

    evaluator = Recording()
    planner = MultiTreePlanner(rules, PlannerConfig(num_trees=2, num_simulations=6))
    planner.plan(
        root, 0, HuntOnGoal(rules), evaluator, np.random.default_rng(0), goals=[{1: STAG}] * 2
    )
    assert evaluator.prior_calls[0] == 1  # the root, once for both trees
    assert len(evaluator.rolled_out) == 2 * 6  # one rollout set per simulation's new leaf
    # Every rolled-out state is at least one step after the root (t = 0): the root itself is
    # never rolled out.
    assert min(evaluator.rolled_out) >= 1


def test_leaf_priors_are_asked_only_for_nodes_the_search_goes_through() -> None:
    # A rollout evaluator gives values and priors separately: a new leaf gets its value at
    # once, its priors only when a later simulation expands it. With 2 trees x 30
    # simulations, fewer leaves are expanded than evaluated, and the search result equals
    # that of an evaluator asked for both at once (the priors are the same either way).
    from agents.hop.planner import MultiTreePlanner, PlannerConfig

    rules = StagHuntRules(StagHuntConfig(num_players=2, grid_size=5, num_hares=1))
    layout = GridLayout.from_walls(np.zeros((5, 5), dtype=bool))
    root = rules.state_from_positions(layout, player_pos=[12, 14], object_pos=[14, 10])

    class Counting(RolloutEvaluator):
        def __init__(self) -> None:
            super().__init__(rules, HuntOnGoal(rules), depth=3, focal_policy="greedy", seed=0)
            self.prior_states = 0
            self.valued_states = 0

        def priors(self, states, player):
            self.prior_states += len(states)
            return super().priors(states, player)

        def values_with_goals(self, states, player, goals, redraw):
            self.valued_states += len(states)
            return super().values_with_goals(states, player, goals, redraw)

    class Together:  # the same rollouts, but priors and values in one call
        def __init__(self) -> None:
            self.inner = RolloutEvaluator(
                rules, HuntOnGoal(rules), depth=3, focal_policy="greedy", seed=0
            )

        def evaluate_with_goals(self, states, player, goals, redraw):
            return self.inner.evaluate_with_goals(states, player, goals, redraw)

        def evaluate(self, states, player):
            return self.inner.evaluate(states, player)

    def plan(evaluator):
        planner = MultiTreePlanner(rules, PlannerConfig(num_trees=2, num_simulations=30))
        return planner.plan(
            root, 0, HuntOnGoal(rules), evaluator, np.random.default_rng(3), goals=[{1: STAG}] * 2
        )

    split = Counting()
    lazy = plan(split)
    assert 1 < split.prior_states - 1 < split.valued_states  # the root, then expanded leaves
    eager = plan(Together())
    np.testing.assert_array_equal(lazy.visit_counts, eager.visit_counts)
    np.testing.assert_allclose(lazy.policy, eager.policy)
