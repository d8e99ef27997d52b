"""Co-player goals as the game describes them: one small numpy-only interface.

A goal is an ``int`` id that agents treat as an opaque hashable value; :data:`IDLE` (-1)
means "pursues nothing more" and always exists. Each game's rules expose their goal space
as ``rules.goals`` (a :class:`GoalSpace`), and everything an agent needs to know about goals
goes through it:

* which goals exist in a state (:meth:`GoalSpace.available`, :meth:`GoalSpace.exists`, and
  :meth:`GoalSpace.exists_batch` over stacked object arrays);
* the goals a belief ranges over (:meth:`GoalSpace.belief_goals`: :data:`IDLE` included or
  not, :attr:`GoalSpace.idle_in_beliefs`);
* hindsight labels of one co-player from its per-step env events: the info key the events
  come from (:attr:`GoalSpace.event_key`), an event converted to a goal
  (:meth:`GoalSpace.event_goal`) and the labels (:meth:`GoalSpace.labels`);
* what a summary of past episodes needs: the goals achieved in an episode
  (:meth:`GoalSpace.achieved`), which goal ids mean the same thing in every episode
  (:attr:`GoalSpace.recurring_goals`), how many goals one episode can achieve at most
  (:attr:`GoalSpace.max_achievements`) and which goals players achieved between two states
  (:meth:`GoalSpace.achieved_between`);
* the goal planes a network sees (:meth:`GoalSpace.encode`, named :attr:`GoalSpace.encoding`).

The two games' goals are tied to objects (:class:`ObjectGoalSpace`): a goal exists while a
live object maps to it. Stag hunt (:class:`PreyKindGoals`, ``"prey_kind"``): the **prey kind**
a co-player ends up capturing; snowdrift (:class:`DriftCellGoals`, ``"drift_cell"``): the flat
cell of the **drift it removes next**. A goal space that is not tied to objects (a learned
subgoal: an index into a learned codebook) subclasses :class:`GoalSpace` directly.

Hindsight labels (both games, one rule): every step of a co-player is labelled with the
goal it achieves next, at or after that step; steps after its last achievement, and every
step of a co-player that achieved nothing, are labelled :data:`IDLE`. A stag-hunt capturer
leaves the game, so all its steps carry the captured kind. A co-player whose episode had not
ended when the recording stopped (censored) has unknown later achievements: it gets no
labels at all.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from hop_envs.core.layout import STAY
from hop_envs.core.state import GridState

__all__ = [
    "DRIFT_CELL",
    "IDLE",
    "PREY_KIND",
    "DriftCellGoals",
    "GoalSpace",
    "ObjectGoalSpace",
    "PreyKindGoals",
]

#: The goal "pursues nothing more" (always exists).
IDLE: int = -1
#: Names of the two games' goal encodings (stored in network configs).
PREY_KIND = "prey_kind"
DRIFT_CELL = "drift_cell"


class GoalSpace(ABC):
    """What a game's co-player goals are (module docstring). Immutable; cheap to share."""

    #: Name of the goal-plane encoding (stored in network configs to catch mismatches).
    encoding: ClassVar[str]
    #: Planes per goal in :meth:`encode`.
    num_planes: ClassVar[int] = 2
    #: Key of ``infos[agent]`` holding a player's per-step event (see :meth:`event_goal`).
    event_key: ClassVar[str]
    #: Key of ``infos[agent]`` holding the id of the object a player achieved its goal on in
    #: the step (captured prey, removed drift; see :meth:`info_object`).
    object_key: ClassVar[str]
    #: Whether beliefs range over :data:`IDLE` besides :meth:`available`'s goals.
    idle_in_beliefs: ClassVar[bool]
    #: At most this many goals achieved by one player in one episode (None: no bound).
    max_achievements: ClassVar[int | None] = None

    def __init__(self, height: int, width: int) -> None:
        self.height = int(height)
        self.width = int(width)
        self.cells = self.height * self.width

    # -- existence -------------------------------------------------------------------------
    @property
    def recurring_goals(self) -> tuple[int, ...] | None:
        """The goal ids that name the same thing in every episode (a summary of past
        episodes may keep a preference over them), or None when goals are tied to one
        episode (the snowdrift's drift cells are drawn anew at every reset)."""
        return None

    @abstractmethod
    def available(self, state: GridState) -> list[int]:
        """The goals that exist in ``state``, without :data:`IDLE`, in a fixed order."""

    @abstractmethod
    def exists(self, state: GridState, goal: int | None) -> bool:
        """Whether ``goal`` can still be pursued in ``state`` (None and IDLE always can)."""

    @abstractmethod
    def exists_batch(
        self,
        object_pos: np.ndarray,
        object_alive: np.ndarray,
        object_kind: np.ndarray,
        goals: np.ndarray,
    ) -> np.ndarray:
        """``(B,)`` bool: whether ``goals[b]`` exists in the state whose objects are
        ``object_pos[b]`` ``(B, m)`` int, ``object_alive[b]`` ``(B, m)`` bool, with kinds
        ``object_kind`` ``(m,)`` int shared by the batch. :data:`IDLE` always exists."""

    def belief_goals(self, state: GridState) -> list[int]:
        """The goals a belief over a co-player ranges over in ``state``: :meth:`available`,
        then :data:`IDLE` when :attr:`idle_in_beliefs`."""
        goals = self.available(state)
        if self.idle_in_beliefs:
            goals.append(IDLE)
        return goals

    # -- events, labels, outcomes ----------------------------------------------------------
    @abstractmethod
    def event_goal(self, event: Any) -> int | None:
        """The goal a player achieved in one step, from ``infos[agent][event_key]`` (None:
        it achieved nothing in that step). Raises ``ValueError`` on a malformed event."""

    def info_goal(self, info: Mapping[str, Any]) -> int | None:
        """:meth:`event_goal` of ``info[event_key]`` (``ValueError`` when the key is missing)."""
        if self.event_key not in info:
            raise ValueError(
                f"{type(self).__name__}: infos have no {self.event_key!r} event; "
                f"got keys {sorted(info)}"
            )
        return self.event_goal(info[self.event_key])

    def info_object(self, info: Mapping[str, Any]) -> int | None:
        """The env's id of the object a player captured or removed in one step, from
        ``info[object_key]`` (None, or a negative id: nothing)."""
        value = info.get(self.object_key)
        return None if value is None or int(value) < 0 else int(value)

    def achieved(self, events: Sequence[int | None]) -> tuple[int, ...]:
        """The goals achieved in one episode, in order, from one player's per-step goals
        (:meth:`event_goal` of each step). Checks :attr:`max_achievements`."""
        out = tuple(int(e) for e in events if e is not None)
        limit = self.max_achievements
        if limit is not None and len(out) > limit:
            raise ValueError(
                f"{type(self).__name__}: a player achieves at most {limit} goal(s) per "
                f"episode, got {list(events)}"
            )
        return out

    def labels(self, events: Sequence[int | None], *, ended: bool) -> np.ndarray | None:
        """Hindsight labels of one co-player's steps from its per-step goals (module
        docstring): the goal achieved next at or after each step, else :data:`IDLE`; None
        when its episode had not ended (censored)."""
        self.achieved(events)
        if not ended:
            return None
        labels = np.empty(len(events), dtype=np.int64)
        upcoming = IDLE
        for k in range(len(events) - 1, -1, -1):
            if events[k] is not None:
                upcoming = int(events[k])  # type: ignore[arg-type]
            labels[k] = upcoming
        return labels

    @abstractmethod
    def achieved_between(
        self, state: GridState, actions: Mapping[int, int], next_state: GridState
    ) -> dict[int, int]:
        """Seat -> goal achieved in the step from ``state`` to ``next_state``, for the seats
        of ``actions`` (seat -> action **as executed**: a masked action ran as stay) that
        achieved one. ``next_state`` may be rebuilt from an observation (its objects
        renumbered)."""

    # -- network input ---------------------------------------------------------------------
    @abstractmethod
    def encode(self, goals: np.ndarray | Sequence[int]) -> np.ndarray:
        """``(B, num_planes, height, width)`` float32 goal planes of ``goals`` ``(B,)``."""


class ObjectGoalSpace(GoalSpace):
    """Goals tied to objects: each object maps to one goal (:meth:`object_goals`), and a goal
    exists while a live object maps to it. Object actions are the actions after stay."""

    @abstractmethod
    def object_goals(self, object_pos: np.ndarray, object_kind: np.ndarray) -> np.ndarray:
        """The goal of each object (broadcast over the two arrays)."""

    def available(self, state: GridState) -> list[int]:
        alive = state.object_alive
        goals = self.object_goals(state.object_pos[alive], state.object_kind[alive])
        return sorted({int(g) for g in goals.tolist()})

    def exists(self, state: GridState, goal: int | None) -> bool:
        if goal is None or goal == IDLE:
            return True
        goals = self.object_goals(state.object_pos, state.object_kind)
        return bool((state.object_alive & (goals == goal)).any())

    def exists_batch(
        self,
        object_pos: np.ndarray,
        object_alive: np.ndarray,
        object_kind: np.ndarray,
        goals: np.ndarray,
    ) -> np.ndarray:
        pos = np.asarray(object_pos)
        alive = np.asarray(object_alive, dtype=bool)
        kind = np.asarray(object_kind)
        g = np.asarray(goals)
        if pos.ndim != 2 or alive.shape != pos.shape or kind.shape != pos.shape[1:]:
            raise ValueError(
                "exists_batch: object_pos and object_alive must be (B, m) and object_kind "
                f"(m,), got {pos.shape}, {alive.shape} and {kind.shape}"
            )
        if g.shape != pos.shape[:1]:
            raise ValueError(
                f"exists_batch: goals must have shape ({pos.shape[0]},), got {g.shape}"
            )
        hit = alive & (self.object_goals(pos, kind[None, :]) == g[:, None])
        return hit.any(axis=1) | (g == IDLE)

    def achieved_between(
        self, state: GridState, actions: Mapping[int, int], next_state: GridState
    ) -> dict[int, int]:
        live = state.object_alive
        cells = state.object_pos[live]
        goals = self.object_goals(cells, state.object_kind[live])
        still = set(next_state.object_pos[next_state.object_alive].tolist())
        out = {}
        for seat, action in actions.items():
            if int(action) <= STAY or not bool(state.active[seat]):
                continue
            on = np.flatnonzero(cells == state.player_pos[seat])
            if on.size and int(cells[on[0]]) not in still:
                out[int(seat)] = int(goals[on[0]])
        return out


class PreyKindGoals(ObjectGoalSpace):
    """Stag hunt: a goal is a prey kind (its index in ``kind_names``); one plane per kind,
    all ones on the goal's kind (all zero for :data:`IDLE`). Events are the ``captured``
    infos ("stag", "hare" or None); a capturer leaves, so at most one achievement."""

    encoding = PREY_KIND
    event_key = "captured"
    object_key = "prey_id"
    idle_in_beliefs = False
    max_achievements = 1

    def __init__(self, kind_names: Sequence[str], height: int, width: int) -> None:
        super().__init__(height, width)
        self.kind_names = tuple(kind_names)
        if not 0 < len(self.kind_names) <= self.num_planes:
            raise ValueError(
                f"PreyKindGoals: between 1 and {self.num_planes} prey kinds, "
                f"got {list(self.kind_names)}"
            )
        self._kind_of = {name: k for k, name in enumerate(self.kind_names)}

    @property
    def recurring_goals(self) -> tuple[int, ...]:
        return tuple(range(len(self.kind_names)))

    def object_goals(self, object_pos: np.ndarray, object_kind: np.ndarray) -> np.ndarray:
        return np.broadcast_arrays(object_pos, object_kind)[1]

    def event_goal(self, event: Any) -> int | None:
        if event is None:
            return None
        kind = self._kind_of.get(event) if isinstance(event, str) else None
        if kind is None:
            raise ValueError(
                f"PreyKindGoals: a capture event must be one of {list(self.kind_names)} or "
                f"None, got {event!r}"
            )
        return kind

    def encode(self, goals: np.ndarray | Sequence[int]) -> np.ndarray:
        g = np.asarray(goals, dtype=np.int64).reshape(-1)
        b, kinds = g.shape[0], len(self.kind_names)
        idle = g == IDLE
        bad = ~idle & ((g < 0) | (g >= kinds))
        if bad.any():
            raise ValueError(
                f"PreyKindGoals.encode: stag-hunt goals must be prey kinds in [0, {kinds - 1}] "
                f"or IDLE ({IDLE}), got {int(g[bad][0])}"
            )
        out = np.zeros((b, self.num_planes, self.cells), dtype=np.float32)
        rows = np.flatnonzero(~idle)
        out[rows, g[rows]] = 1.0
        return out.reshape(b, self.num_planes, self.height, self.width)


class DriftCellGoals(ObjectGoalSpace):
    """Snowdrift: a goal is the flat cell (``row * width + col``) of the drift a co-player
    removes next, and :data:`IDLE` after its last removal (part of the beliefs). Plane 0 is
    one-hot at the goal's cell, plane 1 all ones for :data:`IDLE`. Events are the
    ``drift_cell`` infos (``(row, col)`` or None)."""

    encoding = DRIFT_CELL
    event_key = "drift_cell"
    object_key = "removed_drift"
    idle_in_beliefs = True
    max_achievements = None

    def object_goals(self, object_pos: np.ndarray, object_kind: np.ndarray) -> np.ndarray:
        return np.broadcast_arrays(object_pos, object_kind)[0]

    def event_goal(self, event: Any) -> int | None:
        if event is None:
            return None
        try:
            row, col = event
            row, col = int(row), int(col)
        except (TypeError, ValueError):
            raise ValueError(
                f"DriftCellGoals: a removal event must be a (row, col) cell or None, got {event!r}"
            ) from None
        if not (0 <= row < self.height and 0 <= col < self.width):
            raise ValueError(
                f"DriftCellGoals: removal cell {event!r} is off the {self.height}x{self.width} grid"
            )
        return row * self.width + col

    def encode(self, goals: np.ndarray | Sequence[int]) -> np.ndarray:
        g = np.asarray(goals, dtype=np.int64).reshape(-1)
        b = g.shape[0]
        idle = g == IDLE
        bad = ~idle & ((g < 0) | (g >= self.cells))
        if bad.any():
            raise ValueError(
                f"DriftCellGoals.encode: snowdrift goals must be flat cells in "
                f"[0, {self.cells - 1}] or IDLE ({IDLE}), got {int(g[bad][0])}"
            )
        out = np.zeros((b, self.num_planes, self.cells), dtype=np.float32)
        rows = np.flatnonzero(~idle)
        out[rows, 0, g[rows]] = 1.0
        out[idle, 1] = 1.0
        return out.reshape(b, self.num_planes, self.height, self.width)
