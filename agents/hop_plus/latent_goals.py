"""Learned subgoals as goals of HOP's planner: integer keys into a per-decision table of z.

HOP's planner treats a goal as an opaque integer (DESIGN §7): it passes it to the co-player
policy and asks the game's goal space whether it still exists. HOP+ plans with vectors ``z``
sampled from each co-player's posterior, so at every decision :class:`LatentGoalTable` holds
the sampled vectors and the planner carries their row numbers (``0 .. K-1``) as goals. The
co-player policy (:class:`~agents.hop_plus.policy.LatentCoplayerPolicy`) reads ``z`` back from
the table.

A learned subgoal does not disappear when an object is taken (it is not tied to one object),
so :class:`LatentGoalSpace`, the goal space the planner, its trees and its rollouts are given
(:func:`latent_rules`), says every key of the table exists, except a key given a **target
cell** (:meth:`LatentGoalTable.set_targets`: the cell its decoded subgoal puts the co-player
on) in a state where its co-player stands on that cell: the subgoal is reached, so the
planner's trees draw the co-player a new ``z`` (``hop-plus``'s ``resample_on_reach``). The
batched existence test of rollouts has no player positions, so rollouts keep their ``z``.
Everything else about goals (events, hindsight labels, achievements) stays the game's: the
agent records its episodes with the game's own rules.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hop_envs.core import IDLE, GoalSpace, GridRules, GridState

__all__ = ["NO_TARGET", "LatentGoalSpace", "LatentGoalTable", "latent_rules"]

#: The target cell of a key that is never reached (the default of every key).
NO_TARGET = -1


class LatentGoalTable:
    """The ``z`` vectors of one decision, one row per (tree, co-player) draw.

    :meth:`add` returns the row's key (its index). At most ``capacity`` rows (the co-player
    cache packs keys below the number of grid cells)."""

    def __init__(self, goal_dim: int, capacity: int) -> None:
        if isinstance(goal_dim, bool) or not isinstance(goal_dim, int) or goal_dim < 1:
            raise ValueError(f"LatentGoalTable: goal_dim must be an int >= 1, got {goal_dim!r}")
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise ValueError(f"LatentGoalTable: capacity must be an int >= 1, got {capacity!r}")
        self.goal_dim = goal_dim
        self.capacity = capacity
        self._z = np.zeros((capacity, goal_dim), dtype=np.float32)
        self._seats = np.full(capacity, -1, dtype=np.int64)
        self._targets = np.full(capacity, NO_TARGET, dtype=np.int64)
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def clear(self) -> None:
        self._size = 0

    def add(self, seat: int, z: np.ndarray) -> int:
        """Store ``z`` (``(goal_dim,)``) drawn for co-player ``seat``; its key."""
        z = np.asarray(z, dtype=np.float32)
        if z.shape != (self.goal_dim,) or not np.isfinite(z).all():
            raise ValueError(
                f"LatentGoalTable.add: z must be {self.goal_dim} finite numbers, got shape "
                f"{z.shape}"
            )
        if self._size >= self.capacity:
            raise ValueError(
                f"LatentGoalTable.add: the table holds at most {self.capacity} subgoals per "
                "decision (num_trees x co-players plus redraws); use fewer trees"
            )
        key = self._size
        self._z[key] = z
        self._seats[key] = int(seat)
        self._targets[key] = NO_TARGET
        self._size += 1
        return key

    def vectors(self, keys: np.ndarray | Sequence[int]) -> np.ndarray:
        """``(len(keys), goal_dim)`` float32: the ``z`` of each key (``ValueError`` on a key
        that is not in the table)."""
        k = np.asarray(keys, dtype=np.int64)
        bad = (k < 0) | (k >= self._size)
        if bad.any():
            raise ValueError(
                f"LatentGoalTable: goal {int(k[bad][0])} is not a subgoal of this decision "
                f"(keys 0..{self._size - 1}); a HOP+ co-player query needs a latent goal"
            )
        return self._z[k]

    def seat(self, key: int) -> int:
        self.vectors([key])
        return int(self._seats[key])

    def contains(self, goal: int | None) -> bool:
        return goal is not None and 0 <= int(goal) < self._size

    def set_targets(
        self, keys: np.ndarray | Sequence[int], cells: np.ndarray | Sequence[int]
    ) -> None:
        """Give each of ``keys`` the flat grid cell its co-player reaches its subgoal on
        (``NO_TARGET``: never)."""
        k = np.asarray(keys, dtype=np.int64)
        c = np.asarray(cells, dtype=np.int64)
        self.vectors(k)  # every key must be in the table
        if c.shape != k.shape or (c < NO_TARGET).any():
            raise ValueError(
                f"LatentGoalTable.set_targets: cells must be {k.shape[0]} flat cell indices "
                f"or {NO_TARGET}, got {c.tolist()!r}"
            )
        self._targets[k] = c

    def target(self, key: int) -> int:
        """The target cell of ``key`` (``NO_TARGET`` when it has none)."""
        self.vectors([key])
        return int(self._targets[key])

    def reached(self, state: GridState, goal: int) -> bool:
        """Whether ``goal``'s co-player, still in the game, stands on its target cell."""
        target = self._targets[goal]
        if target == NO_TARGET:
            return False
        seat = self._seats[goal]
        return bool(state.active[seat]) and int(state.player_pos[seat]) == int(target)


class LatentGoalSpace(GoalSpace):
    """The game's goal space for everything but existence: every key of ``table`` (and
    None, IDLE) exists in every state, unless its co-player stands on the key's target cell
    (:meth:`LatentGoalTable.reached`). Other integers are not HOP+ goals and do not exist."""

    def __init__(self, base: GoalSpace, table: LatentGoalTable) -> None:
        super().__init__(base.height, base.width)
        self.base = base
        self.table = table
        self.encoding = f"latent:{base.encoding}"  # type: ignore[misc]
        self.event_key = base.event_key  # type: ignore[misc]
        self.object_key = base.object_key  # type: ignore[misc]
        self.idle_in_beliefs = False  # type: ignore[misc]
        self.max_achievements = base.max_achievements  # type: ignore[misc]

    def available(self, state: GridState) -> list[int]:
        return list(range(len(self.table)))

    def exists(self, state: GridState, goal: int | None) -> bool:
        if goal is None or goal == IDLE:
            return True
        return self.table.contains(goal) and not self.table.reached(state, int(goal))

    def exists_batch(
        self,
        object_pos: np.ndarray,
        object_alive: np.ndarray,
        object_kind: np.ndarray,
        goals: np.ndarray,
    ) -> np.ndarray:
        g = np.asarray(goals, dtype=np.int64)
        return (g == IDLE) | ((g >= 0) & (g < len(self.table)))

    def event_goal(self, event: Any) -> int | None:
        return self.base.event_goal(event)

    def achieved_between(
        self, state: GridState, actions: Mapping[int, int], next_state: GridState
    ) -> dict[int, int]:
        return self.base.achieved_between(state, actions, next_state)

    def encode(self, goals: np.ndarray | Sequence[int]) -> np.ndarray:
        raise TypeError(
            "LatentGoalSpace.encode: HOP+ goals are vectors in a table, not goal planes; "
            "ask the table for them"
        )


def latent_rules(rules: GridRules, table: LatentGoalTable) -> GridRules:
    """A copy of ``rules`` whose ``goals`` is a :class:`LatentGoalSpace` over ``table`` (the
    game itself is unchanged: same config, steps, masks); for the planner and its rollouts."""
    out = copy.copy(rules)
    out.goals = LatentGoalSpace(rules.goals, table)
    return out
