"""Soundness of the planner's root statistics, on hand-built positions and hand-worked
numbers: the visit target leaves out forced and noise-bought visits, root values are
pooled by visits and acted on robustly, and pending leaves count as losses."""

from __future__ import annotations

import numpy as np

from agents.hop.planner import MultiTreePlanner, PlannerConfig
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
