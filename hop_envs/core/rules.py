"""Rules shared by both games: reset, action masks, observation layers and validation."""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from hop_envs.core.goals import GoalSpace
from hop_envs.core.layout import NUM_MOVES, STAY, GridLayout, draw_layout
from hop_envs.core.state import GridState, StepOutcome


def check_int(name: str, value: Any, low: int, high: int | None = None) -> None:
    """Raise ``ValueError`` unless ``value`` is an int in ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    if value < low or (high is not None and value > high):
        allowed = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name} must be {allowed}, got {value!r}")


def check_number(name: str, value: Any, *, non_negative: bool = False) -> None:
    """Raise ``ValueError`` unless ``value`` is a finite real number."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValueError(f"{name} must be a number, got {value!r} ({type(value).__name__})")
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if non_negative and value < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")


def check_choice(name: str, value: Any, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")


class GridRules(ABC):
    """A game's pure rules over :class:`GridState`.

    Subclasses define the object kinds, the action set, :meth:`step` and the co-player goals
    (:meth:`make_goal_space`, exposed as :attr:`goals`). The rules object is immutable and
    cheap to share; states are advanced in place (copy first to branch).
    """

    #: Names of the object kinds, in channel order.
    object_kinds: ClassVar[tuple[str, ...]]
    #: Names of the actions, in action order.
    action_names: ClassVar[tuple[str, ...]]

    def __init__(self, config: Any) -> None:
        self.config = config
        self.num_players: int = config.num_players
        self.height: int = config.height
        self.width: int = config.width
        self.num_actions = len(self.action_names)
        self.num_channels = self.num_players + 1 + len(self.object_kinds)
        self._object_kind = np.asarray(self.initial_object_kinds(), dtype=np.int64)
        self._object_kind.setflags(write=False)
        self._mask_cache: tuple[GridLayout, np.ndarray] | None = None
        #: The game's co-player goals (:mod:`hop_envs.core.goals`).
        self.goals: GoalSpace = self.make_goal_space()

    # -- game-specific -------------------------------------------------------------------
    @abstractmethod
    def return_bounds(self) -> tuple[float, float]:
        """Bounds ``(low, high)`` on one player's return over a whole episode (not always
        tight): reports keep confidence bands of returns inside them."""

    @abstractmethod
    def reward_scale(self) -> float:
        """A typical size of one player's reward in one capture or removal (at least 1), so
        that value losses and reports can be put on one scale across games."""

    @abstractmethod
    def make_goal_space(self) -> GoalSpace:
        """The game's co-player goals (called once, at construction)."""

    @abstractmethod
    def initial_object_kinds(self) -> list[int]:
        """Kind of each object placed at reset, in object-index order."""

    @abstractmethod
    def step(self, state: GridState, actions: Sequence[int] | np.ndarray) -> StepOutcome:
        """Advance ``state`` in place by one joint action (one entry per seat; entries of
        players who have left are ignored)."""

    @abstractmethod
    def object_action_legal(self, action: int, kind: int) -> bool:
        """Whether the object action ``action`` (>= 5) is legal on an object of ``kind``."""

    # -- shared ----------------------------------------------------------------------------
    @property
    def num_objects(self) -> int:
        return int(self._object_kind.shape[0])

    def reset(self, rng: np.random.Generator) -> GridState:
        """A fresh state: walls, objects on distinct free cells, players on free cells."""
        m = self.num_objects
        layout = draw_layout(
            rng, self.height, self.width, self.config.num_wall_pieces, min_free=max(m, 1)
        )
        return self.state_from_positions(
            layout,
            player_pos=rng.choice(layout.free_cells(), size=self.num_players, replace=True),
            object_pos=rng.choice(layout.free_cells(), size=m, replace=False),
        )

    def state_from_positions(
        self,
        layout: GridLayout,
        player_pos: Sequence[int] | np.ndarray,
        object_pos: Sequence[int] | np.ndarray,
        *,
        active: Sequence[bool] | np.ndarray | None = None,
        object_alive: Sequence[bool] | np.ndarray | None = None,
        t: int = 0,
        first_capture_t: int = -1,
    ) -> GridState:
        """Build a state by hand (tests, planners): positions are flat cell indices."""
        player_pos = np.asarray(player_pos, dtype=np.int64).copy()
        object_pos = np.asarray(object_pos, dtype=np.int64).copy()
        if player_pos.shape != (self.num_players,):
            raise ValueError(
                f"player_pos must have {self.num_players} entries, got {player_pos.shape}"
            )
        if object_pos.shape != (self.num_objects,):
            raise ValueError(
                f"object_pos must have {self.num_objects} entries, got {object_pos.shape}"
            )
        object_pos.setflags(write=False)
        return GridState(
            layout=layout,
            player_pos=player_pos,
            active=np.ones(self.num_players, dtype=bool)
            if active is None
            else np.asarray(active, dtype=bool).copy(),
            object_pos=object_pos,
            object_kind=self._object_kind,
            object_alive=np.ones(self.num_objects, dtype=bool)
            if object_alive is None
            else np.asarray(object_alive, dtype=bool).copy(),
            t=t,
            first_capture_t=first_capture_t,
        )

    def action_mask(self, state: GridState, player: int) -> np.ndarray:
        """``int8`` mask of the legal actions of ``player`` (stay is always legal)."""
        return self.action_masks(state)[player]

    def action_masks(self, state: GridState, kind_at: dict[int, int] | None = None) -> np.ndarray:
        """``(n, num_actions)`` int8 masks for every seat, computed together."""
        if kind_at is None:
            kind_at = self._kind_at_cell(state)
        kinds = [kind_at.get(p, -1) + 1 for p in state.player_pos.tolist()]
        masks = self._mask_table(state.layout)[state.player_pos, kinds]
        if not state.active.all():
            masks[~state.active] = self._stay_only
        return masks

    def _mask_table(self, layout: GridLayout) -> np.ndarray:
        """``(cells, kinds + 1, num_actions)``: the mask of a player on a cell holding an
        object of a kind (index 0: no object). Cached for the most recent layout."""
        cached = self._mask_cache
        if cached is not None and cached[0] is layout:
            return cached[1]
        cells = layout.neighbors.shape[0]
        table = np.empty((cells, len(self.object_kinds) + 1, self.num_actions), np.int8)
        table[:, :, :NUM_MOVES] = (layout.neighbors >= 0)[:, None, :]
        table[:, :, NUM_MOVES:] = self._object_action_table[None]
        self._mask_cache = (layout, table)
        return table

    @staticmethod
    def _kind_at_cell(state: GridState) -> dict[int, int]:
        """Cell -> kind of the live object on it."""
        return {
            p: k
            for p, k, alive in zip(
                state.object_pos.tolist(),
                state.object_kind.tolist(),
                state.object_alive.tolist(),
                strict=True,
            )
            if alive
        }

    @functools.cached_property
    def _object_action_table(self) -> np.ndarray:
        """Row ``kind + 1`` (row 0: no object) -> legality of stay and the object actions."""
        table = np.zeros((len(self.object_kinds) + 1, self.num_actions - NUM_MOVES), np.int8)
        table[:, 0] = 1
        for kind in range(len(self.object_kinds)):
            for action in range(NUM_MOVES + 1, self.num_actions):
                table[kind + 1, action - NUM_MOVES] = self.object_action_legal(action, kind)
        return table

    @functools.cached_property
    def _stay_only(self) -> np.ndarray:
        mask = np.zeros(self.num_actions, dtype=np.int8)
        mask[STAY] = 1
        return mask

    def layers_and_masks(self, state: GridState) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`layers` and :meth:`action_masks` together (one pass over the objects)."""
        kind_at = self._kind_at_cell(state)
        return self.layers(state, kind_at), self.action_masks(state, kind_at)

    def layers(self, state: GridState, kind_at: dict[int, int] | None = None) -> np.ndarray:
        """The global grid ``(C, H, W)`` in seat order: players, walls, one channel per kind."""
        if kind_at is None:
            kind_at = self._kind_at_cell(state)
        n, cells = self.num_players, self.height * self.width
        grid = np.zeros(self.num_channels * cells, dtype=np.uint8)
        for seat, (pos, active) in enumerate(
            zip(state.player_pos.tolist(), state.active.tolist(), strict=True)
        ):
            if active:
                grid[seat * cells + pos] = 1
        grid[n * cells : (n + 1) * cells] = state.layout.walls.reshape(-1)
        for cell, kind in kind_at.items():
            grid[(n + 1 + kind) * cells + cell] = 1
        return grid.reshape(self.num_channels, self.height, self.width)

    def channel_order(self, observer: int) -> np.ndarray:
        """Channel permutation that puts ``observer`` first, then the others in seat order."""
        n = self.num_players
        players = (observer + np.arange(n)) % n
        return np.concatenate([players, np.arange(n, self.num_channels)])

    def observation(self, state: GridState, observer: int) -> np.ndarray:
        """The grid as ``observer`` sees it (its own channel first)."""
        return self.layers(state)[self.channel_order(observer)]

    def state_from_observation(
        self, grid: np.ndarray, observer: int, t: int, first_capture_t: int = -1
    ) -> GridState:
        """Rebuild a state from one player's observation grid (the games are fully
        observable). Object indices follow row-major order of the live objects, so they may
        differ from the env's own numbering; departed players are marked inactive."""
        grid = np.asarray(grid)
        if grid.shape != (self.num_channels, self.height, self.width):
            raise ValueError(
                f"observation grid must have shape "
                f"{(self.num_channels, self.height, self.width)}, got {grid.shape}"
            )
        n = self.num_players
        seat_grid = np.empty_like(grid)
        seat_grid[self.channel_order(observer)] = grid
        flat = seat_grid.reshape(self.num_channels, -1)
        layout = GridLayout.from_walls(seat_grid[n].astype(bool))
        player_pos = np.zeros(n, dtype=np.int64)
        active = np.zeros(n, dtype=bool)
        for seat in range(n):
            cells = np.flatnonzero(flat[seat])
            if cells.size:
                player_pos[seat], active[seat] = cells[0], True
        kinds: list[int] = []
        cells_by_kind: list[int] = []
        for kind in range(len(self.object_kinds)):
            cells = np.flatnonzero(flat[n + 1 + kind])
            kinds.extend([kind] * cells.size)
            cells_by_kind.extend(cells.tolist())
        state = GridState(
            layout=layout,
            player_pos=player_pos,
            active=active,
            object_pos=np.asarray(cells_by_kind, dtype=np.int64),
            object_kind=np.asarray(kinds, dtype=np.int64),
            object_alive=np.ones(len(kinds), dtype=bool),
            t=t,
            first_capture_t=first_capture_t,
        )
        return state

    def _move_or_stay(self, state: GridState, player: int, action: int) -> tuple[int, bool]:
        """Target cell of a move action and whether it was legal (illegal means stay)."""
        cell = int(state.player_pos[player])
        nxt = int(state.layout.neighbors[cell, action])
        return (nxt, True) if nxt >= 0 else (cell, False)
