"""Soundness of the planner's root statistics, on hand-built positions and hand-worked
numbers: the visit target leaves out forced and noise-bought visits, root values are
pooled by visits and acted on robustly, and pending leaves count as losses."""

from __future__ import annotations

import numpy as np
import pytest

from agents.hop.planner import MultiTreePlanner, PlannerConfig, root_values
from agents.hop.search_tree import Node, SearchTree, UniformStream
from hop_envs.core import (
    HUNT_HARE,
    STAY,
    GridLayout,
    StagHuntConfig,
    StagHuntRules,
)

UP, DOWN, LEFT, RIGHT = 0, 1, 2, 3


def cell(r: int, c: int) -> int:
    return r * 5 + c


def open_layout() -> GridLayout:
    return GridLayout.from_walls(np.zeros((5, 5), dtype=bool))


def one_hare_game() -> StagHuntRules:
    """Two players on an open 5x5 grid, no stag, one hare."""
    return StagHuntRules(
        StagHuntConfig(num_players=2, grid_size=5, num_stags=0, num_hares=1, num_wall_pieces=0)
    )


class Stays:
    """Co-players that always stay."""

    def __init__(self, rules) -> None:
        self.rules = rules

    def action_probs(self, queries) -> np.ndarray:
        out = np.zeros((len(queries), self.rules.num_actions))
        out[:, STAY] = 1.0
        return out


class Uniform:
    """Co-players that act uniformly over their legal actions."""

    def __init__(self, rules) -> None:
        self.rules = rules

    def action_probs(self, queries) -> np.ndarray:
        m = np.stack([self.rules.action_mask(q.state, q.player) for q in queries]).astype(float)
        return m / m.sum(1, keepdims=True)


class LineEvaluator:
    """Value 0; the prior is one-hot on hunt-hare where legal, else on RIGHT (uniform when
    neither is legal: the planner's fallback for an all-zero prior)."""

    def __init__(self, rules) -> None:
        self.rules = rules

    def evaluate(self, states, player):
        priors = np.zeros((len(states), self.rules.num_actions))
        for i, s in enumerate(states):
            mask = self.rules.action_mask(s, player)
            priors[i, HUNT_HARE if mask[HUNT_HARE] else RIGHT] = 1.0
        return priors, np.zeros(len(states))


def line_position(rules: StagHuntRules):
    """Focal at (2,1), one step left of the hare at (2,2); the co-player far off at (4,4).
    Legal root actions: the four moves and stay (hunting needs the hare's cell)."""
    return rules.state_from_positions(
        open_layout(), player_pos=[cell(2, 1), cell(4, 4)], object_pos=[cell(2, 2)]
    )


# -- 1. the visit target -----------------------------------------------------------------------
def hand_root(rules: StagHuntRules, prior, visits, q, forced) -> SearchTree:
    """A tree whose root statistics are set by hand: the prior the search used, visits, Q
    and forced visits (c_puct 1, Q not normalised)."""
    state = line_position(rules)
    root = Node(state, 0.0, False, 0, (None, None))
    legal = [a for a in range(rules.num_actions) if visits[a] > 0]
    root.set_evaluation(legal, list(prior), 0.0)
    root.visits = list(visits)
    root.value_sum = [n * v for n, v in zip(visits, q, strict=True)]
    root.total_visits = sum(visits)
    tree = SearchTree(
        rules,
        0,
        root,
        c_puct=1.0,
        discount=0.95,
        max_depth=None,
        normalize_q=False,
        uniforms=UniformStream(np.random.default_rng(0)),
        redraw=lambda s, j: 0,
    )
    tree.forced = list(forced)
    return tree


def test_target_visits_by_hand() -> None:
    # Root after N = 36 visits, so E = c_puct * sqrt(36) = 6. Actions UP (the most visited),
    # DOWN, LEFT, RIGHT; each had one forced visit.
    #   visits 22, 10, 2, 2;  Q 0.5, 0.4, 0.1, 0.2
    #   noise-free prior 0.5, 0.3, 0.2, 0.0;  noisy prior 0.3, 0.5, 0.1, 0.1
    # Best's score with the noise-free prior: 0.5 + 6 * 0.5 / 23 = 0.63043.
    # The noise raised DOWN and RIGHT only:
    #   DOWN:  largest k with 0.4 + 6 * 0.3 / k >= 0.63043: k <= 1.8 / 0.23043 = 7.81 -> 7;
    #          target = min(10, max(7, 1)) - 1 = 6.
    #   RIGHT: prior 0 -> k = 0; target = min(2, max(0, 1)) - 1 = 0.
    # LEFT (noise lowered its prior) keeps 2 - 1 = 1; UP keeps 22 - 1 = 21.
    rules = one_hare_game()
    pad = [0.0] * (rules.num_actions - 4)
    visits = [22, 10, 2, 2] + [0] * len(pad)
    q = [0.5, 0.4, 0.1, 0.2, *pad]
    forced = [1, 1, 1, 1] + [0] * len(pad)
    clean = [0.5, 0.3, 0.2, 0.0, *pad]
    noisy = [0.3, 0.5, 0.1, 0.1, *pad]
    tree = hand_root(rules, noisy, visits, q, forced)
    assert tree.target_visits(clean) == [21, 6, 1, 0] + [0] * len(pad)
    # Without noise (the search's prior is the noise-free one) only the forced visits go.
    tree = hand_root(rules, clean, visits, q, forced)
    assert tree.target_visits(clean) == [21, 9, 1, 1] + [0] * len(pad)


def test_an_action_whose_q_alone_earns_its_visits_keeps_them() -> None:
    # As above, but DOWN's Q 0.7 is above the best's whole score 0.63043: PUCT with the
    # noise-free prior would have chosen it on its Q alone, so nothing is pruned but the
    # forced visit.
    rules = one_hare_game()
    pad = [0.0] * (rules.num_actions - 4)
    clean = [0.5, 0.3, 0.2, 0.0, *pad]
    noisy = [0.3, 0.5, 0.1, 0.1, *pad]
    visits = [22, 10, 2, 2] + [0] * len(pad)
    tree = hand_root(rules, noisy, visits, [0.5, 0.7, 0.1, 0.2, *pad], [1] * 4 + [0] * 3)
    assert tree.target_visits(clean)[:4] == [21, 9, 1, 0]


def test_visit_policy_leaves_out_the_forced_visits() -> None:
    # One tree, 16 simulations. Five legal root actions are each tried once; the other 11
    # simulations all go RIGHT (the only action with prior mass, and the others' Q is 0
    # while RIGHT's is not below it). Raw counts: RIGHT 12, the others 1 each, which as a
    # target would be 4/16 uniform noise; the target is RIGHT alone.
    rules = one_hare_game()
    planner = MultiTreePlanner(rules, PlannerConfig(num_trees=1, num_simulations=16))
    result = planner.plan(
        line_position(rules), 0, Stays(rules), LineEvaluator(rules), np.random.default_rng(0)
    )
    assert result.visit_counts[0].tolist() == [1, 1, 1, 12, 1, 0, 0]
    assert result.target_visits[0].tolist() == [0, 0, 0, 11, 0, 0, 0]
    assert result.visit_policy.tolist() == [0, 0, 0, 1, 0, 0, 0]


def test_visit_policy_leaves_out_the_visits_root_noise_bought() -> None:
    # Same position with heavy root noise: the noisy priors send extra visits to actions
    # whose noise-free prior is 0 (their Q, at most 0.95^2, is below RIGHT's PUCT score), so
    # PUCT with the noise-free prior would have given them none: the target is RIGHT alone.
    rules = one_hare_game()
    config = PlannerConfig(
        num_trees=3, num_simulations=40, dirichlet_fraction=0.75, dirichlet_alpha=1.0
    )
    result = MultiTreePlanner(rules, config).plan(
        line_position(rules), 0, Stays(rules), LineEvaluator(rules), np.random.default_rng(3)
    )
    others = [UP, DOWN, LEFT, STAY]
    assert (result.visit_counts[:, RIGHT] > result.visit_counts[:, others].max(1)).all()
    # The noise did buy visits: more than the forced one for some other action.
    assert result.visit_counts[:, others].max() > 1
    assert result.visit_policy.tolist() == [0, 0, 0, 1, 0, 0, 0]


# -- 2. root values across trees, and acting on them -----------------------------------------
def test_root_values_pool_the_trees_by_visits_by_hand() -> None:
    # Action 0: tree 0 tried it once (return 1.0), tree 1 nine times (0.5 each): Q is
    # (1.0 + 4.5) / 10 = 0.55, not the trees' plain mean (1.0 + 0.5) / 2 = 0.75.
    # Action 1: only tree 0, returns 0.2, 0.4, 0.6, 0.8: Q 0.5.
    # Squared deviations: M2 = 3.25 - 5.5 * 0.55 = 0.225 and 1.2 - 2.0 * 0.5 = 0.2; pooled
    # variance s^2 = 0.425 / (9 + 3) = 0.0354167.
    # Bounds (2 standard errors): 0.55 - 2 * sqrt((0.225 + s^2) / 10) / sqrt(10) = 0.447938
    # and 0.5 - 2 * sqrt((0.2 + s^2) / 4) / 2 = 0.257401.
    visits = np.array([[1, 4], [9, 0]])
    sums = np.array([[1.0, 2.0], [4.5, 0.0]])
    squares = np.array([[1.0, 1.2], [2.25, 0.0]])
    q, lower = root_values(visits, sums, squares, 2.0)
    np.testing.assert_allclose(q, [0.55, 0.5], rtol=1e-12)
    np.testing.assert_allclose(lower, [0.447938, 0.257401], atol=1e-6)
    q, lower = root_values(visits, sums, squares, 0.0)
    np.testing.assert_allclose(lower, q)
    # An action no tree tried has no value.
    q, lower = root_values(np.array([[3, 0]]), np.array([[1.5, 0.0]]), np.array([[0.75, 0.0]]), 2.0)
    assert q[0] == 0.5 and lower[0] == 0.5 and np.isnan(q[1]) and np.isnan(lower[1])


class ScriptedValues:
    """The prior is one-hot on RIGHT where legal (uniform elsewhere); the values are given
    in the order the leaves are evaluated, one leaf per call, then alternate 1.0, 0.8."""

    def __init__(self, rules, first) -> None:
        self.rules = rules
        self.values = list(first)
        self.calls = 0

    def evaluate(self, states, player):
        assert len(states) == 1
        priors = np.zeros((1, self.rules.num_actions))
        priors[0, RIGHT] = 1.0
        k = self.calls
        self.calls += 1
        value = self.values[k] if k < len(self.values) else (1.0 if k % 2 == 0 else 0.8)
        return priors, np.array([value])


def lucky_search(**cfg):
    # Focal in the corner (0,0): legal DOWN, RIGHT, STAY. The co-player moves at random so
    # every simulation ends in a new leaf: one evaluation per simulation, in order. The
    # discount is 1 and no reward is in reach, so a simulation's root return is its leaf's
    # value. Calls: the root (value unused), then the forced visits in prior order: RIGHT
    # (0.8), DOWN (1.0, the lucky one), STAY (0.0); then 1.0, 0.8, 1.0, ... for the other
    # 39 simulations. Those all go RIGHT: DOWN has prior 0, so its PUCT score is its
    # normalised Q 1.0, while RIGHT's, 0.9 - 0.1 / n + sqrt(n + 2) / (n + 1) after n
    # returns, stays above 1.05 for n <= 39. RIGHT's 40 returns are 20 x 0.8 and 20 x 1.0.
    rules = one_hare_game()
    state = rules.state_from_positions(
        open_layout(), player_pos=[cell(0, 0), cell(4, 0)], object_pos=[cell(4, 4)]
    )
    config = PlannerConfig(num_trees=1, num_simulations=42, discount=1.0, beta=100.0, **cfg)
    evaluator = ScriptedValues(rules, [0.0, 0.8, 1.0, 0.0])
    result = MultiTreePlanner(rules, config).plan(
        state, 0, Uniform(rules), evaluator, np.random.default_rng(0)
    )
    assert evaluator.calls == 43
    assert result.visit_counts[0].tolist() == [0, 1, 0, 40, 1, 0, 0]
    assert result.q_values[DOWN] == 1.0
    assert result.q_values[RIGHT] == pytest.approx(0.9, abs=1e-12)
    assert result.q_values[STAY] == 0.0
    return result


def test_one_lucky_visit_does_not_outweigh_forty() -> None:
    # Pooled within-action variance s^2 = M2(RIGHT) / 39 = 0.4 / 39 (s = 0.101274).
    # DOWN, one visit: 1.0 - 2 * s = 0.797452. RIGHT: 0.9 - 2 * s / sqrt(40) = 0.867974
    # (its sigma^2 = (0.4 + s^2) / 40 is s^2 again). STAY: 0 - 2 * s.
    # softmax(100 * bounds): RIGHT 1 / (1 + exp(-7.0522)) = 0.999135.
    result = lucky_search()
    bounds = [0.797452, 0.867974, -0.202548]
    np.testing.assert_allclose(result.q_lower[[DOWN, RIGHT, STAY]], bounds, atol=1e-6)
    assert result.policy[RIGHT] == pytest.approx(0.999135, abs=1e-6)
    assert result.policy[DOWN] == pytest.approx(0.000865, abs=1e-6)


def test_acting_on_the_plain_mean_would_follow_the_lucky_visit() -> None:
    # The same search acting on Q itself: softmax(100 * [1.0, 0.9, 0]) puts
    # 1 / (1 + exp(-10)) = 0.99995 on DOWN, tried once.
    result = lucky_search(lcb_stderrs=0.0)
    assert result.policy[DOWN] == pytest.approx(0.9999546, abs=1e-7)


# -- 3. virtual loss ---------------------------------------------------------------------------
class NegativeValues:
    """A constant value of -1 (a cost ahead, say) and fixed raw priors."""

    def __init__(self, rules, raw_prior) -> None:
        self.rules = rules
        self.raw_prior = np.asarray(raw_prior, dtype=float)

    def evaluate(self, states, player):
        return np.tile(self.raw_prior, (len(states), 1)), np.full(len(states), -1.0)


def test_pending_leaves_count_as_losses_when_values_are_negative() -> None:
    # Focal at (2,2): legal UP, DOWN, LEFT, RIGHT, STAY with priors .2, .25, .12, .35, .08.
    # One tree, 7 simulations collected 5 per round. Round 1: the five forced visits, each
    # to a new leaf of value -1: every root Q is 0.95 * -1 = -0.95, the tree's lowest Q.
    # Round 2 collects two leaves before evaluating (N = 5, every n = 1, normalised Q 0):
    #   1st: PUCT terms sqrt(5) * P / 2 -> RIGHT (0.391) over DOWN (0.280): RIGHT.
    #   2nd: RIGHT now has a pending visit. As a loss (return -0.95) its Q stays -0.95,
    #        normalised 0, and its score is sqrt(6) * .35 / 3 = 0.286 < DOWN's
    #        sqrt(6) * .25 / 2 = 0.306: DOWN. (Counted as a return of 0, the pending visit
    #        would lift RIGHT's Q to -0.475, normalised 0.5, score 0.786: RIGHT again.)
    rules = one_hare_game()
    state = rules.state_from_positions(
        open_layout(), player_pos=[cell(2, 2), cell(4, 4)], object_pos=[cell(0, 0)]
    )
    evaluator = NegativeValues(rules, [0.2, 0.25, 0.12, 0.35, 0.08, 0.0, 0.0])
    config = PlannerConfig(num_trees=1, num_simulations=7, leaves_per_round=5)
    result = MultiTreePlanner(rules, config).plan(
        state, 0, Stays(rules), evaluator, np.random.default_rng(0)
    )
    assert result.visit_counts[0].tolist() == [1, 2, 1, 2, 1, 0, 0]


def test_a_pending_visit_scores_as_the_trees_lowest_q_and_is_removed_exactly() -> None:
    # Root with UP (2 visits, Q -0.5) and DOWN (2 visits, Q -0.6); the tree's lowest Q is
    # -2.0 (somewhere deeper). c_puct 0 and raw Q: the score is Q itself, so UP is chosen.
    # A pending visit on UP makes its Q (2 * -0.5 + -2.0) / 3 = -1.0 < -0.6: DOWN is chosen
    # (counted as a return of 0 it would be -1.0 / 3 = -0.33, and UP chosen again).
    rules = one_hare_game()
    pad = [0.0] * (rules.num_actions - 2)
    tree = hand_root(rules, [0.5, 0.5, *pad], [2, 2, *pad], [-0.5, -0.6, *pad], [1, 1, *pad])
    tree.c_puct = 0.0
    tree.q_low, tree.q_high = -2.0, 0.0
    root = tree.root
    assert tree._choose(root) == UP
    before = (list(root.visits), list(root.value_sum), root.total_visits)
    tree.add_virtual_visit([root], [UP])
    assert root.visits[UP] == 3 and root.pending[UP] == 1
    assert tree._choose(root) == DOWN
    tree.remove_virtual_visit([root], [UP])
    assert (list(root.visits), list(root.value_sum), root.total_visits) == before
    assert root.pending == [0] * rules.num_actions
    assert tree._choose(root) == UP


# -- collisions in batched rounds ----------------------------------------------------------------
class CountingEvaluator:
    """Value 1 everywhere, uniform priors; records the size of every call."""

    def __init__(self, rules) -> None:
        self.rules = rules
        self.calls: list[int] = []

    def evaluate(self, states, player):
        self.calls.append(len(states))
        masks = np.stack([self.rules.action_mask(s, player) for s in states]).astype(float)
        return masks / masks.sum(1, keepdims=True), np.ones(len(states))


def test_a_batched_round_never_backs_up_one_leaf_twice() -> None:
    # One tree, 7 simulations, 7 attempts per round; 5 legal root actions. Round 1: the 5
    # forced root actions, then attempts 6 and 7 can only end at one of those pending
    # children (none has a value to descend through): collisions, dropped unspent, so the
    # round evaluates 5 leaves. Round 2 has values to descend through and takes the last 2. Every
    # simulation backs up its own leaf: 7 root visits from 7 distinct evaluated leaves
    # (the old rule backed the 6th and 7th selections up on round 1's leaves again).
    rules = one_hare_game()
    state = line_position(rules)
    evaluator = CountingEvaluator(rules)
    planner = MultiTreePlanner(
        rules, PlannerConfig(num_trees=1, num_simulations=7, leaves_per_round=7)
    )
    result = planner.plan(state, 0, Stays(rules), evaluator, np.random.default_rng(0))
    assert evaluator.calls[1:] == [5, 2]  # calls[0] is the root (priors and value)
    assert int(result.visit_counts.sum()) == 7
