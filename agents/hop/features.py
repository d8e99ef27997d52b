"""Network inputs built from many :class:`GridState`\\ s at once, with numpy.

The HOP networks see a player's own view of the grid (its channel first, the others in seat
order after it, then walls and one channel per object kind: exactly
``rules.observation(state, player)``), the legal-action mask of that player and the time
``t / max_cycles``. Goal-conditioned models also get goal planes, which the game defines
(``rules.goals.encode``, named ``rules.goals.encoding``; :mod:`hop_envs.core.goals`):

* stag hunt (``"prey_kind"``): one constant plane per prey kind, one-hot on the goal's kind
  (all zero for :data:`~agents.hop.interfaces.IDLE`);
* snowdrift (``"drift_cell"``): plane 0 is one-hot at the target drift's cell, plane 1 is
  all ones when the goal is :data:`~agents.hop.interfaces.IDLE`.

The planner asks for hundreds of these per decision, so everything here is vectorised over
the batch (no per-state Python beyond gathering each state's small arrays).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from agents.hop.interfaces import Goal
from hop_envs.core import (
    DRIFT_CELL,
    NUM_MOVES,
    PREY_KIND,
    STAY,
    GoalSpace,
    GridLayout,
    GridRules,
    GridState,
)

__all__ = [
    "DRIFT_CELL",
    "PREY_KIND",
    "FeatureBuilder",
    "Features",
    "goal_encoding_of",
]


def goal_space_of(rules: GridRules) -> GoalSpace:
    """``rules.goals``, checked (``TypeError`` for rules without a goal space)."""
    goals = getattr(rules, "goals", None)
    if not isinstance(goals, GoalSpace):
        raise TypeError(
            f"no goal encoding for rules of type {type(rules).__name__}; "
            "expected rules with a goal space (rules.goals, a hop_envs.core.GoalSpace)"
        )
    return goals


def goal_encoding_of(rules: GridRules) -> str:
    """The name of the goal encoding of ``rules``' game (``rules.goals.encoding``)."""
    return goal_space_of(rules).encoding


@dataclass(frozen=True, slots=True)
class Features:
    """A batch of network inputs (numpy). ``goals`` is ``None`` for goal-free inputs."""

    grids: np.ndarray  # (B, C, H, W) float32
    times: np.ndarray  # (B,) float32, t / max_cycles
    masks: np.ndarray  # (B, A) bool
    goals: np.ndarray | None = None  # (B, rules.goals.num_planes, H, W) float32

    def __len__(self) -> int:
        return int(self.grids.shape[0])


class FeatureBuilder:
    """Builds :class:`Features` for one game's rules (immutable; cheap to share)."""

    def __init__(self, rules: GridRules) -> None:
        self.rules = rules
        self.num_players = rules.num_players
        self.num_channels = rules.num_channels
        self.height = rules.height
        self.width = rules.width
        self.cells = rules.height * rules.width
        self.num_actions = rules.num_actions
        self.max_cycles = int(rules.config.max_cycles)
        self.goal_space = goal_space_of(rules)
        self.goal_encoding = self.goal_space.encoding
        self.num_kinds = len(rules.object_kinds)
        # Row kind + 1 (row 0: no live object on the cell) -> legality of stay and the object
        # actions, from the rules' own legality test.
        table = np.zeros((self.num_kinds + 1, self.num_actions - NUM_MOVES), dtype=bool)
        table[:, STAY - NUM_MOVES] = True
        for kind in range(self.num_kinds):
            for action in range(STAY + 1, self.num_actions):
                table[kind + 1, action - NUM_MOVES] = rules.object_action_legal(action, kind)
        self._object_table = table
        self._seats = np.arange(self.num_players)

    # -- whole batches ---------------------------------------------------------------------
    def build(
        self,
        states: Sequence[GridState],
        players: Sequence[int] | np.ndarray,
        goals: Sequence[Goal] | np.ndarray | None = None,
    ) -> Features:
        """Features of ``players[i]`` in ``states[i]`` (pursuing ``goals[i]`` if given)."""
        batch = self._batch(states, players)
        return Features(
            grids=self.grids(states, players, batch=batch),
            times=self.times(states),
            masks=self.masks(states, players, batch=batch),
            goals=None if goals is None else self.goal_planes(goals, expected=len(states)),
        )

    def from_observations(
        self,
        grids: np.ndarray,
        times: Sequence[int] | np.ndarray,
        masks: np.ndarray,
        goals: Sequence[Goal] | np.ndarray | None = None,
    ) -> Features:
        """Features from stored observation grids ``(B, C, H, W)``, integer steps and masks
        (the buffer keeps these compact as uint8/bool)."""
        grids = np.asarray(grids)
        expected = (self.num_channels, self.height, self.width)
        if grids.ndim != 4 or grids.shape[1:] != expected:
            raise ValueError(f"grids must have shape (B, *{expected}), got {grids.shape}")
        steps = np.asarray(times)
        masks = np.asarray(masks, dtype=bool)
        if steps.shape != (grids.shape[0],) or masks.shape != (grids.shape[0], self.num_actions):
            raise ValueError(
                f"times must have shape ({grids.shape[0]},) and masks "
                f"({grids.shape[0]}, {self.num_actions}); got {steps.shape} and {masks.shape}"
            )
        return Features(
            grids=grids.astype(np.float32),
            times=(steps / self.max_cycles).astype(np.float32),
            masks=masks,
            goals=None if goals is None else self.goal_planes(goals, expected=grids.shape[0]),
        )

    # -- parts -----------------------------------------------------------------------------
    def grids(
        self,
        states: Sequence[GridState],
        players: Sequence[int] | np.ndarray,
        *,
        dtype: type = np.float32,
        batch: _Batch | None = None,
    ) -> np.ndarray:
        """``(B, C, H, W)``: ``rules.observation(states[i], players[i])`` stacked."""
        b = self._batch(states, players) if batch is None else batch
        n, cells, size = self.num_players, self.cells, b.size
        out = np.zeros((size, self.num_channels, cells), dtype=dtype)
        # Seat s is channel (s - observer) mod n in the observer's view.
        channel = (self._seats[None, :] - b.players[:, None]) % n
        out[np.repeat(b.rows, n), channel.ravel(), b.pos.ravel()] = b.active.ravel()
        if b.layout is not None:
            out[:, n] = b.layout.walls.reshape(-1)
        else:
            out[:, n] = np.stack([s.layout.walls.reshape(-1) for s in states])
        live = b.objects.alive
        out[b.objects.owner[live], n + 1 + b.objects.kind[live], b.objects.pos[live]] = 1
        return out.reshape(size, self.num_channels, self.height, self.width)

    def masks(
        self,
        states: Sequence[GridState],
        players: Sequence[int] | np.ndarray,
        *,
        batch: _Batch | None = None,
    ) -> np.ndarray:
        """``(B, A)`` bool: ``rules.action_mask(states[i], players[i])`` stacked."""
        b = self._batch(states, players) if batch is None else batch
        cell = b.pos[b.rows, b.players]
        if b.layout is not None:
            moves = b.layout.neighbors[cell] >= 0
        else:
            moves = (
                np.stack([s.layout.neighbors[c] for s, c in zip(states, cell, strict=True)]) >= 0
            )
        # The kind of the live object under each player (-1: none; live objects never share).
        objects = b.objects
        on = objects.alive & (objects.pos == cell[objects.owner])
        under = np.full(b.size, -1, dtype=np.int64)
        under[objects.owner[on]] = objects.kind[on]
        out = np.concatenate([moves, self._object_table[under + 1]], axis=1)
        gone = ~b.active[b.rows, b.players]
        if gone.any():
            out[gone] = False
            out[gone, STAY] = True
        return out

    def times(self, states: Sequence[GridState]) -> np.ndarray:
        """``(B,)`` float32: ``t / max_cycles``."""
        return np.asarray([s.t for s in states], dtype=np.float32) / np.float32(self.max_cycles)

    def goal_planes(
        self, goals: Sequence[Goal] | np.ndarray, *, expected: int | None = None
    ) -> np.ndarray:
        """``(B, rules.goals.num_planes, H, W)`` float32 planes of ``goals``: the game's
        ``rules.goals.encode``."""
        g = np.asarray(goals, dtype=np.int64).reshape(-1)
        if expected is not None and g.shape[0] != expected:
            raise ValueError(f"goal_planes: expected {expected} goals, got {g.shape[0]}")
        return self.goal_space.encode(g)

    def _batch(self, states: Sequence[GridState], players: Sequence[int] | np.ndarray) -> _Batch:
        if len(states) == 0:
            raise ValueError("features need at least one state, got an empty batch")
        arr = np.asarray(players, dtype=np.int64).reshape(-1)
        if arr.shape[0] != len(states):
            raise ValueError(f"got {len(states)} states but {arr.shape[0]} players")
        if arr.min() < 0 or arr.max() >= self.num_players:
            raise ValueError(
                f"players must be seats in [0, {self.num_players - 1}], got {arr.tolist()}"
            )
        return _Batch(states, arr)


class _Batch:
    """What the grid and mask builders share: the players, stacked positions, the common
    layout (None when the states' layouts differ) and the concatenated objects."""

    __slots__ = ("active", "layout", "objects", "players", "pos", "rows", "size")

    def __init__(self, states: Sequence[GridState], players: np.ndarray) -> None:
        self.size = len(states)
        self.players = players
        self.rows = np.arange(self.size)
        self.pos = np.stack([s.player_pos for s in states])
        self.active = np.stack([s.active for s in states])
        first = states[0].layout
        self.layout: GridLayout | None = first if all(s.layout is first for s in states) else None
        self.objects = _ObjectIndex(states)


class _ObjectIndex:
    """All states' objects concatenated, with the index of the state each belongs to."""

    __slots__ = ("alive", "kind", "owner", "pos")

    def __init__(self, states: Sequence[GridState]) -> None:
        counts = [s.object_pos.shape[0] for s in states]
        self.owner = np.repeat(np.arange(len(states)), counts)
        self.pos = np.concatenate([s.object_pos for s in states])
        self.kind = np.concatenate([s.object_kind for s in states])
        self.alive = np.concatenate([s.object_alive for s in states])
