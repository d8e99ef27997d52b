"""Which co-player goals exist in a state, and drawing goals for the planner's trees.

What a goal is belongs to the game: ``rules.goals`` (a :class:`~hop_envs.core.GoalSpace`)
says which goals exist (DESIGN §7: removed goals are never goals inside the tree).
:func:`available_goals` and :func:`goal_exists` are thin delegations to it.
:data:`~agents.hop.interfaces.IDLE` always exists. The planner asks a :class:`GoalSampler`
for a goal at each tree's root and again whenever a co-player's goal disappears inside the
tree, and the sampler must answer with a goal that exists in the state it is given.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import numpy as np

from agents.hop.interfaces import IDLE, Goal
from hop_envs.core import GridRules, GridState


def available_goals(rules: GridRules, state: GridState) -> list[Goal]:
    """The goals that exist in ``state`` (without :data:`IDLE`), in the game's fixed order
    (``rules.goals.available``)."""
    return rules.goals.available(state)


def goal_exists(rules: GridRules, state: GridState, goal: Goal | None) -> bool:
    """Whether ``goal`` can still be pursued in ``state`` (``None`` and IDLE always can;
    ``rules.goals.exists``)."""
    return rules.goals.exists(state, goal)


class GoalSampler(Protocol):
    """Draws the goal of co-player ``player`` in ``state``; the answer must exist there."""

    def __call__(self, state: GridState, player: int, rng: np.random.Generator) -> Goal: ...


class UniformGoalSampler:
    """A goal drawn uniformly from those that exist, or IDLE when none is left."""

    def __init__(self, rules: GridRules) -> None:
        self.rules = rules

    def __call__(self, state: GridState, player: int, rng: np.random.Generator) -> Goal:
        goals = available_goals(self.rules, state)
        if not goals:
            return IDLE
        return goals[int(rng.integers(len(goals)))]


class BeliefGoalSampler:
    """Goals drawn from per-co-player beliefs, restricted to the goals that exist.

    ``beliefs[player]`` maps goals (IDLE included, if the belief gives it mass) to
    non-negative weights. The weights of goals that no longer exist are dropped and the rest
    renormalised; when nothing with positive weight is left the draw is uniform over the goals
    that exist, and IDLE when none exists. A co-player without an entry is drawn uniformly.
    """

    def __init__(self, rules: GridRules, beliefs: Mapping[int, Mapping[Goal, float]]) -> None:
        self.rules = rules
        self.beliefs: dict[int, tuple[list[Goal], np.ndarray]] = {}
        for player, belief in beliefs.items():
            goals = [int(g) for g in belief]
            weights = np.asarray([float(belief[g]) for g in belief], dtype=np.float64)
            if weights.size and (not np.isfinite(weights).all() or (weights < 0).any()):
                raise ValueError(
                    f"BeliefGoalSampler: belief of player {player} must have finite weights "
                    f">= 0, got {dict(zip(goals, weights.tolist(), strict=True))}"
                )
            self.beliefs[int(player)] = (goals, weights)
        self._uniform = UniformGoalSampler(rules)

    def __call__(self, state: GridState, player: int, rng: np.random.Generator) -> Goal:
        entry = self.beliefs.get(player)
        if entry is None:
            return self._uniform(state, player, rng)
        goals, weights = entry
        keep = [goal_exists(self.rules, state, g) for g in goals]
        cdf = np.cumsum(np.where(keep, weights, 0.0))
        if cdf.size == 0 or cdf[-1] <= 0.0:
            return self._uniform(state, player, rng)
        return goals[int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right"))]


class SamplerRedraw:
    """A search's redraw (``(state, seat) -> goal``): ``sampler`` with the search's ``rng``.
    An object rather than a closure so that compiled rollouts can read which sampler and
    Generator it uses (:mod:`agents.hop.compiled_rollouts`)."""

    __slots__ = ("rng", "sampler")

    def __init__(self, sampler: GoalSampler, rng: np.random.Generator) -> None:
        self.sampler = sampler
        self.rng = rng

    def __call__(self, state: GridState, player: int) -> Goal:
        return self.sampler(state, player, self.rng)
