"""Leaf evaluators that need no network: short rollouts with the modelled co-players.

:class:`RolloutEvaluator` gives uniform priors over the focal player's legal actions and
values from ``num_rollouts`` rollouts of at most ``depth`` steps per leaf, in which the
co-players act from the given :class:`~agents.hop.interfaces.CoplayerPolicy` (given their
goals when the planner supplies them) and the focal player follows a fixed rollout policy:

* ``"random"``: uniform over its legal actions;
* ``"greedy"``: the object action when one is legal on its cell (hunt the prey it stands on,
  remove the drift it stands on), otherwise one step along a shortest path (around walls)
  towards the nearest live object, ties broken at random;
* ``"best-kind"``: greedy rollouts that head only for objects of one kind (stag or hare;
  the snowdrift has one kind), run for every kind, and the leaf takes the value of the best
  kind. This lets short rollouts value a far stag next to a near hare. The max over noisy
  samples would be biased upwards (a lucky stag sample outbids a sure hare), so it uses the
  double estimator: ``num_rollouts`` rollouts per kind pick the kind, ``num_rollouts``
  independent ones value it. With a single kind (snowdrift) it is plain greedy.
* ``"best-option"``: greedy rollouts per object kind plus one more option, **waiting** (the
  focal player stays put and acts on nothing); the leaf takes the best option's value. Where
  acting costs something (a snowdrift removal), this lets the rollouts value leaving the work
  to co-players who are believed to do it; a greedy rollout policy always does the work
  itself, so it undervalues free-riding on cleaners. To keep its cost at ``num_rollouts`` per
  option it takes the plain maximum (no double estimator): slightly optimistic, and equally
  so at every leaf, since every leaf has the same options.

The value is the discounted sum of the focal player's rewards along the rollout, averaged
over rollouts. A rollout stops at a terminal (episode over, or the focal player has left)
and at ``depth`` steps; nothing is bootstrapped past either, so the value is a short-horizon
estimate. All rollouts of one call advance in lock-step so the co-player policy is asked once
per rollout step.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from agents.hop.goal_sampling import goal_exists
from agents.hop.interfaces import IDLE, CoplayerPolicy, Goal, PolicyQuery
from agents.hop.search_tree import Goals, Redraw
from hop_envs.core import NUM_MOVES, STAY, GridLayout, GridRules, GridState, bfs_distances

ROLLOUT_POLICIES = ("random", "greedy", "best-kind", "best-option")
#: The rollout option of ``"best-option"`` in which the focal player waits.
WAIT_OPTION = -1


class RolloutEvaluator:
    """Uniform priors and short-rollout values; one RNG, seeded through :meth:`reset`."""

    def __init__(
        self,
        rules: GridRules,
        coplayer_policy: CoplayerPolicy,
        *,
        depth: int = 10,
        discount: float = 0.95,
        num_rollouts: int = 1,
        focal_policy: str = "random",
        seed: int | None = None,
    ) -> None:
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 0:
            raise ValueError(f"RolloutEvaluator: depth must be an int >= 0, got {depth!r}")
        if isinstance(num_rollouts, bool) or not isinstance(num_rollouts, int) or num_rollouts < 1:
            raise ValueError(
                f"RolloutEvaluator: num_rollouts must be an int >= 1, got {num_rollouts!r}"
            )
        if not isinstance(discount, int | float) or not 0.0 <= float(discount) <= 1.0:
            raise ValueError(f"RolloutEvaluator: discount must be in [0, 1], got {discount!r}")
        if focal_policy not in ROLLOUT_POLICIES:
            raise ValueError(
                f"RolloutEvaluator: focal_policy must be one of {list(ROLLOUT_POLICIES)}, "
                f"got {focal_policy!r}"
            )
        self.rules = rules
        self.coplayer_policy = coplayer_policy
        self.depth = depth
        self.discount = float(discount)
        self.num_rollouts = num_rollouts
        self.focal_policy = focal_policy
        self.rng = np.random.default_rng(seed)
        self._distances: tuple[GridLayout, list[list[int]], list[list[int]]] | None = None

    def reset(self, seed: int | None = None) -> None:
        """Re-seed the rollout RNG."""
        self.rng = np.random.default_rng(seed)

    # -- LeafEvaluator ---------------------------------------------------------------------
    def evaluate(self, states: Sequence[GridState], player: int) -> tuple[np.ndarray, np.ndarray]:
        """Priors and values with goal-free co-player queries (``goal=None``)."""
        goals = [(None,) * self.rules.num_players for _ in states]
        return self.evaluate_with_goals(states, player, goals, _keep_goal)

    def evaluate_with_goals(
        self,
        states: Sequence[GridState],
        player: int,
        goals: Sequence[Goals],
        redraw: Redraw,
    ) -> tuple[np.ndarray, np.ndarray]:
        """As :meth:`evaluate`, the co-players pursuing ``goals[i]`` from ``states[i]``;
        goals removed during a rollout are replaced by ``redraw``."""
        if len(goals) != len(states):
            raise ValueError(
                f"RolloutEvaluator: got {len(states)} states but {len(goals)} goal tuples"
            )
        masks = np.stack([self.rules.action_masks(s)[player] for s in states]).astype(np.float64)
        priors = masks / masks.sum(1, keepdims=True)
        values = self._rollouts(states, player, goals, redraw)
        return priors, values

    # -- rollouts --------------------------------------------------------------------------
    def _rollouts(
        self, states: Sequence[GridState], player: int, goals: Sequence[Goals], redraw: Redraw
    ) -> np.ndarray:
        k = self.num_rollouts
        kinds: list[int | None] = [None]
        num_kinds = len(self.rules.object_kinds)
        double = self.focal_policy == "best-kind" and num_kinds > 1
        if double:
            kinds = list(range(num_kinds))
            k *= 2  # one half picks the kind, the other values it
        elif self.focal_policy == "best-option":
            kinds = [*range(num_kinds), WAIT_OPTION]
        per_state = k * len(kinds)
        sims = [s.copy() for s in states for _ in range(per_state)]
        sim_goals = [list(g) for g in goals for _ in range(per_state)]
        sim_kind = kinds * (k * len(states))
        returns = np.zeros(len(sims))
        live = [i for i, s in enumerate(sims) if not s.over and s.active[player]]
        weight = 1.0
        n = self.rules.num_players
        for _ in range(self.depth):
            if not live:
                break
            queries = []
            for i in live:
                s = sims[i]
                queries.extend(
                    PolicyQuery(s, j, sim_goals[i][j])
                    for j in range(n)
                    if j != player and s.active[j]
                )
            co_actions = self._sample(queries) if queries else []
            q = 0
            still = []
            for i in live:
                s = sims[i]
                joint = [STAY] * n
                joint[player] = self._focal_action(s, player, sim_kind[i])
                for j in range(n):
                    if j != player and s.active[j]:
                        joint[j] = co_actions[q]
                        q += 1
                outcome = self.rules.step(s, joint)
                returns[i] += weight * float(outcome.rewards[player])
                if s.over or not s.active[player]:
                    continue
                if int(outcome.target.max()) >= 0:
                    self._redraw_removed(s, sim_goals[i], redraw)
                still.append(i)
            live = still
            weight *= self.discount
        returns = returns.reshape(len(states), k, len(kinds))
        if self.focal_policy == "best-option":
            return returns.mean(1).max(1)
        if not double:
            return returns.mean(axis=(1, 2))
        half = k // 2
        best = returns[:, :half].mean(1).argmax(1)
        return returns[:, half:].mean(1)[np.arange(len(states)), best]

    def _sample(self, queries: list[PolicyQuery]) -> list[int]:
        probs = np.asarray(self.coplayer_policy.action_probs(queries), dtype=np.float64)
        if probs.shape != (len(queries), self.rules.num_actions):
            raise ValueError(
                f"{type(self.coplayer_policy).__name__}.action_probs must return shape "
                f"{(len(queries), self.rules.num_actions)}, got {probs.shape}"
            )
        cdf = np.cumsum(probs, axis=1)
        x = self.rng.random(len(queries)) * cdf[:, -1]
        return (cdf <= x[:, None]).sum(1).tolist()

    def _redraw_removed(self, state: GridState, goals: list[Goal | None], redraw: Redraw) -> None:
        for seat, goal in enumerate(goals):
            if goal is None or goal == IDLE or not state.active[seat]:
                continue
            if not goal_exists(self.rules, state, goal):
                goals[seat] = redraw(state, seat)

    def _focal_action(self, state: GridState, player: int, kind: int | None) -> int:
        """The rollout focal action; ``kind`` restricts greedy targets to one object kind."""
        if self.focal_policy == "random":
            legal = np.flatnonzero(self.rules.action_masks(state)[player])
            return int(legal[self.rng.integers(legal.size)])
        if kind == WAIT_OPTION:
            return STAY
        cell = int(state.player_pos[player])
        targets = [
            p
            for p, k, alive in zip(
                state.object_pos.tolist(),
                state.object_kind.tolist(),
                state.object_alive.tolist(),
                strict=True,
            )
            if alive and (kind is None or k == kind)
        ]
        if cell in targets:
            mask = self.rules.action_masks(state)[player]
            for action in range(NUM_MOVES + 1, self.rules.num_actions):
                if mask[action]:
                    return action
        return self._step_towards_nearest(state, cell, targets)

    def _step_towards_nearest(self, state: GridState, cell: int, targets: list[int]) -> int:
        """A move along a shortest path to the nearest live object (stay if none)."""
        dist = self._distance_matrix(state.layout)
        row = dist[cell]
        best, target = -1, -1
        for p in targets:
            d = row[p]
            if d > 0 and (best < 0 or d < best):
                best, target = d, p
        if target < 0:
            return STAY
        neighbors = self._neighbors(state.layout)[cell]
        good = [
            a
            for a in range(NUM_MOVES)
            if neighbors[a] >= 0 and dist[neighbors[a]][target] == best - 1
        ]
        return good[int(self.rng.integers(len(good)))] if len(good) > 1 else good[0]

    def _distance_matrix(self, layout: GridLayout) -> list[list[int]]:
        """All-pairs shortest-path move counts of ``layout`` (-1: unreachable) as nested
        lists, cached for the most recent layout."""
        cached = self._distances
        if cached is not None and cached[0] is layout:
            return cached[1]
        cells = layout.neighbors.shape[0]
        dist = [bfs_distances(layout.neighbors, c).tolist() for c in range(cells)]
        self._distances = (layout, dist, layout.neighbors.tolist())
        return dist

    def _neighbors(self, layout: GridLayout) -> list[list[int]]:
        self._distance_matrix(layout)
        return self._distances[2]


def _keep_goal(state: GridState, player: int) -> Goal:
    """Redraw for goal-free queries: never called, since ``None`` goals are never removed."""
    raise AssertionError("goal-free rollouts never redraw a goal")
