"""Contracts between the parts of the HOP agent: goals, co-player policies, leaf evaluators.

Learned models (torch) and hand-written policies (tests, rollout policies) implement these,
so the planner never needs to know which it is given. Everything is batched: the planner collects
the queries of all its trees and asks once.

Goals (DESIGN §3.1, §3.2, §7):
    * stag hunt: the prey kind the co-player is after, ``hop_envs.core.STAG`` (0) or ``HARE`` (1);
    * snowdrift: the flat cell index (``row * width + col``) of the drift the co-player will
      remove next, or :data:`IDLE` once it will remove no more.

:data:`IDLE` is the goal interface's (``hop_envs.core.IDLE``, :mod:`hop_envs.core.goals`),
re-exported here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from hop_envs.core import IDLE, BatchedState, GridState

__all__ = [
    "IDLE",
    "NO_GOAL",
    "BatchedCoplayerPolicy",
    "CoplayerPolicy",
    "Goal",
    "LeafEvaluator",
    "PolicyQuery",
]

Goal = int
#: Stands for ``goal=None`` (goal-free models, true policies) in integer goal arrays.
NO_GOAL: Goal = -2


@dataclass(frozen=True, slots=True)
class PolicyQuery:
    """Ask for the action distribution of ``player`` in ``state`` pursuing ``goal``
    (``None`` for goal-free models and true policies)."""

    state: GridState
    player: int
    goal: Goal | None = None


class CoplayerPolicy(Protocol):
    """Action distributions for co-players, used to sample their moves inside the tree."""

    def action_probs(self, queries: Sequence[PolicyQuery]) -> np.ndarray:
        """``(len(queries), num_actions)`` float rows summing to 1, zero on masked actions."""
        ...


class BatchedCoplayerPolicy(CoplayerPolicy, Protocol):
    """A co-player policy that also answers rows of a batched state directly (the batched
    rollouts use it; a plain :class:`CoplayerPolicy` is asked through scalar states)."""

    def batch_action_probs(
        self, batch: BatchedState, rows: np.ndarray, seats: np.ndarray, goals: np.ndarray
    ) -> np.ndarray:
        """``(len(rows), num_actions)``: the distribution of player ``seats[i]`` in entry
        ``rows[i]`` pursuing ``goals[i]`` (:data:`NO_GOAL` for none)."""
        ...


class LeafEvaluator(Protocol):
    """Priors and values for the focal player at tree nodes."""

    def evaluate(self, states: Sequence[GridState], player: int) -> tuple[np.ndarray, np.ndarray]:
        """``(priors (k, num_actions), values (k,))``: priors masked and normalised; values
        estimate the focal player's discounted return from each state."""
        ...
