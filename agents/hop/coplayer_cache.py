"""Co-player distributions of one decision, asked of the opponent model once per key.

A decision's search asks the opponent model about the same co-players in nearly the same
states thousands of times: the trees' chance nodes and the rollouts of every leaf start
from one root and the co-players walk the same few paths. :class:`CachedCoplayerPolicy`
wraps a batched co-player policy and keeps, for the current decision, one distribution per
key; only keys it has not seen go to the network. ``mode`` says what the key holds:

* ``"exact"``: everything the model's answer depends on (the cells of the players still in
  the game, the live objects, the time, the seat and the goal). The answers are those of
  the wrapped policy, only cheaper when states repeat.
* ``"own-cell"``: the co-player's own cell, the live objects and its goal. The model sees
  a co-player's own view (its channel first), so what differs between two co-players on one
  cell with one goal is only where the *others* stand. The distribution computed for the
  first state with a key is reused where only the other players' cells, the seat or the
  time differ. A goal-conditioned co-player's move depends mostly on where it stands
  relative to its goal, so this trades a small approximation for far fewer network rows
  (``benchmarks/hop_decision.py`` prints both, with the total-variation gap). The first
  time a (live objects, goal) pair is needed, its whole *field* is computed in one call:
  the co-player on every free cell, the others where they stand in that first state (the
  learned models compute it incrementally, :mod:`agents.hop.incremental_fields`).
* ``"none"``: no cache.

The agent calls :meth:`clear` before every decision (the model learns between episodes, and
a new decision may see another layout). A call whose rows do not all share one board
bypasses the cache, and one on another board (walls, object cells) than the table's starts a
new table. Keys are packed into one int64; :class:`CachedCoplayerPolicy` refuses a
game too large for that (use ``"none"`` there).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

from agents.hop.interfaces import NO_GOAL, BatchedCoplayerPolicy, PolicyQuery
from hop_envs.core import BatchedState, GridRules, GridState

__all__ = ["CACHE_MODES", "CachedCoplayerPolicy", "spread_over_cells"]

CACHE_MODES = ("none", "exact", "own-cell")
_KEY_LIMIT = 2**62


class CachedCoplayerPolicy:
    """A :class:`~agents.hop.interfaces.BatchedCoplayerPolicy` answering from a per-decision
    table (module docstring)."""

    def __init__(self, policy: BatchedCoplayerPolicy, rules: GridRules, mode: str) -> None:
        if mode not in CACHE_MODES:
            raise ValueError(
                f"CachedCoplayerPolicy: mode must be one of {list(CACHE_MODES)}, got {mode!r}"
            )
        if not hasattr(policy, "batch_action_probs"):
            raise TypeError(
                f"CachedCoplayerPolicy: {type(policy).__name__} has no batch_action_probs"
            )
        self.policy = policy
        self.rules = rules
        self.mode = mode
        self.num_actions = rules.num_actions
        self._cells = rules.height * rules.width
        self._num_objects = rules.num_objects
        self._goal_radix = max(self._cells, len(rules.object_kinds)) + 2
        self._max_t = int(rules.config.max_cycles)
        if mode != "none" and self._key_space() >= _KEY_LIMIT:
            raise ValueError(
                f"CachedCoplayerPolicy: mode {mode!r} cannot pack the keys of a game with "
                f"{rules.num_players} players, {self._cells} cells and {self._num_objects} "
                "objects into 62 bits; use mode 'none' (or 'own-cell' if it fits)"
            )
        self.clear()

    def clear(self) -> None:
        """Forget every stored distribution (call before each decision)."""
        self._keys = np.empty(0, dtype=np.int64)
        shape = (
            (0, self._cells, self.num_actions) if self.mode == "own-cell" else (0, self.num_actions)
        )
        self._probs = np.empty(shape, dtype=np.float64)
        self._board: tuple[np.ndarray, np.ndarray] | None = None
        self._checked: BatchedState | None = None

    # -- CoplayerPolicy --------------------------------------------------------------------
    def action_probs(self, queries: Sequence[PolicyQuery]) -> np.ndarray:
        if len(queries) == 0:
            return np.zeros((0, self.num_actions), dtype=np.float64)
        # Queries about several co-players of one state share its batch row.
        row_of: dict[int, int] = {}
        states: list[GridState] = []
        rows = np.empty(len(queries), dtype=np.int64)
        for i, q in enumerate(queries):
            row = row_of.setdefault(id(q.state), len(states))
            if row == len(states):
                states.append(q.state)
            rows[i] = row
        seats = np.asarray([q.player for q in queries], dtype=np.int64)
        goals = np.asarray(
            [NO_GOAL if q.goal is None else int(q.goal) for q in queries], dtype=np.int64
        )
        return self.batch_action_probs(BatchedState.stack(states), rows, seats, goals)

    def batch_action_probs(
        self, batch: BatchedState, rows: np.ndarray, seats: np.ndarray, goals: np.ndarray
    ) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        seats = np.asarray(seats, dtype=np.int64)
        goals = np.asarray(goals, dtype=np.int64)
        if rows.size == 0 or self.mode == "none" or not self._same_board(batch, rows):
            return self.policy.batch_action_probs(batch, rows, seats, goals)
        pos = self._positions(batch, rows, seats, goals)
        if self.mode == "own-cell":
            return self._probs[pos, batch.player_pos[rows, seats]]
        return self._probs[pos]

    @property
    def field_keys(self) -> np.ndarray:
        """The sorted int64 keys of :attr:`fields` (see :meth:`_key`)."""
        return self._keys

    @property
    def goal_radix(self) -> int:
        """The radix of a key's goal digit (``goal - NO_GOAL``)."""
        return self._goal_radix

    @property
    def fields(self) -> np.ndarray:
        """``(K, cells, num_actions)``: the own-cell fields stored so far (mode
        ``"own-cell"``), indexed by :meth:`field_positions`."""
        return self._probs

    def field_positions(
        self, batch: BatchedState, rows: np.ndarray, seats: np.ndarray, goals: np.ndarray
    ) -> np.ndarray | None:
        """The index in :attr:`fields` of the field of each co-player ``seats[i]`` of entry
        ``rows[i]`` pursuing ``goals[i]``, computing the fields not stored yet exactly as
        :meth:`batch_action_probs` does (so the answers, and the order they are computed
        in, are the same); None where that method would not answer from fields (another
        mode, or rows on different boards). Positions are valid until the next call that
        adds fields."""
        if self.mode != "own-cell" or rows.size == 0 or not self._same_board(batch, rows):
            return None
        return self._positions(batch, rows, seats, goals)

    def _positions(
        self, batch: BatchedState, rows: np.ndarray, seats: np.ndarray, goals: np.ndarray
    ) -> np.ndarray:
        """Table positions of the queries' keys, adding the missing ones. "exact": one
        stored row per distinct key. "own-cell": per (live objects, goal), the distribution
        on every cell (a *field*), asked in one network call the first time any cell of it
        is needed."""
        compute = (
            self._compute_fields if self.mode == "own-cell" else self.policy.batch_action_probs
        )
        keys = self._key(batch, rows, seats, goals)
        pos, missing = _find(self._keys, keys)
        if missing.size:
            unique, first = np.unique(keys[missing], return_index=True)
            pick = missing[first]
            probs = compute(batch, rows[pick], seats[pick], goals[pick])
            self._keys, self._probs = _insert(self._keys, self._probs, unique, probs)
            pos, _ = _find(self._keys, keys)
        return pos

    def _compute_fields(
        self, batch: BatchedState, rows: np.ndarray, seats: np.ndarray, goals: np.ndarray
    ) -> np.ndarray:
        """``(len(rows), cells, num_actions)``: co-player ``seats[i]`` of entry ``rows[i]``
        moved onto every free cell (the others where they are), in one call: the policy's
        ``field_action_probs`` where it has one (the learned models compute a field
        incrementally), else ``batch_action_probs`` on the spread-out states."""
        free = np.flatnonzero(~batch.walls[rows[0]].reshape(-1))
        fields = np.zeros((rows.size, self._cells, self.num_actions), dtype=np.float64)
        if hasattr(self.policy, "field_action_probs"):
            fields[:, free] = self.policy.field_action_probs(batch, rows, seats, goals, free)
            return fields
        spread, seat_rows = spread_over_cells(batch, rows, seats, free)
        probs = self.policy.batch_action_probs(
            spread, np.arange(seat_rows.size), seat_rows, np.repeat(goals, free.size)
        )
        fields[:, free] = probs.reshape(rows.size, free.size, self.num_actions)
        return fields

    # -- keys ------------------------------------------------------------------------------
    def _same_board(self, batch: BatchedState, rows: np.ndarray) -> bool:
        """Whether every row has one board (walls and object cells); a new board starts a
        fresh table, since keys name objects by index. A batch of one board is checked once
        (the batched core never moves walls or objects): the rollouts ask about one batch
        at every step."""
        if batch.shared_board and batch is self._checked:
            return True
        if batch.shared_board:  # one entry speaks for all
            board = (batch.walls[rows[0]], batch.object_pos[rows[0]])
        else:
            walls, objects = batch.walls[rows], batch.object_pos[rows]
            if not ((walls == walls[0]).all() and (objects == objects[0]).all()):
                return False
            board = (walls[0], objects[0])
        if self._board is None or not (
            np.array_equal(self._board[0], board[0]) and np.array_equal(self._board[1], board[1])
        ):
            self.clear()
            self._board = (board[0].copy(), board[1].copy())
        self._checked = batch if batch.shared_board else None
        return True

    def _key_space(self) -> int:
        n = self.rules.num_players
        space = 2**self._num_objects * self._goal_radix
        if self.mode == "exact":
            space *= n * (self._cells + 1) ** n * (self._max_t + 1)
        return space

    def _key(
        self, batch: BatchedState, rows: np.ndarray, seats: np.ndarray, goals: np.ndarray
    ) -> np.ndarray:
        n = self.rules.num_players
        code = goals - NO_GOAL  # NO_GOAL -> 0, IDLE -> 1, goal g -> g + 2
        if code.min() < 0 or code.max() >= self._goal_radix:
            bad = goals[(code < 0) | (code >= self._goal_radix)][0]
            raise ValueError(
                f"CachedCoplayerPolicy: goal {int(bad)} is outside [{NO_GOAL}, "
                f"{self._goal_radix + NO_GOAL - 1}] and cannot be cached"
            )
        alive = batch.object_alive[rows]
        key = alive.astype(np.int64) @ _bits(alive.shape[1])  # one bit per object
        key *= self._goal_radix
        key += code
        if self.mode == "exact":
            key = key * n + seats
            cells = np.where(batch.active[rows], batch.player_pos[rows], self._cells)
            for j in range(n):
                key = key * (self._cells + 1) + cells[:, j]
            key = key * (self._max_t + 1) + np.minimum(batch.t[rows], self._max_t)
        return key


def spread_over_cells(
    batch: BatchedState, rows: np.ndarray, seats: np.ndarray, cells: np.ndarray
) -> tuple[BatchedState, np.ndarray]:
    """Entry ``rows[i]`` repeated once per cell of ``cells``, co-player ``seats[i]`` moved
    onto that cell (the others where they are), and the seat of every new row: the rows of
    field ``i`` are ``i * len(cells) + arange(len(cells))``."""
    count = rows.size * cells.size
    spread = batch.take(np.repeat(rows, cells.size))
    seat_rows = np.repeat(seats, cells.size)
    spread.player_pos[np.arange(count), seat_rows] = np.tile(cells, rows.size)
    return spread, seat_rows


@functools.cache
def _bits(count: int) -> np.ndarray:
    """``[1, 2, 4, ...]``: ``count`` int64 powers of two (read-only)."""
    bits = np.left_shift(1, np.arange(count, dtype=np.int64))
    bits.setflags(write=False)
    return bits


def _find(table: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of ``keys`` in the sorted ``table`` and the indices of those not in it."""
    pos = np.searchsorted(table, keys)
    if table.size == 0:
        return pos, np.arange(keys.size)
    hit = table.take(pos, mode="clip") == keys  # past the end: the last key, never equal
    return pos, (~hit).nonzero()[0]


def _insert(
    table: np.ndarray, values: np.ndarray, keys: np.ndarray, new_values: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``table``/``values`` with the new sorted-unique ``keys`` merged in, still sorted."""
    merged = np.concatenate([table, keys])
    order = np.argsort(merged, kind="stable")
    return merged[order], np.concatenate([values, new_values])[order]
