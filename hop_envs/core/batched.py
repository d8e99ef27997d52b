"""The batched core: many states of one game stepped at once with numpy.

This is the fast path for training and search. It follows the scalar rules exactly (the
tests step both side by side); finished entries are left unchanged by further steps.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from hop_envs.core.layout import (
    BOARD_BITS,
    NUM_MOVES,
    GridLayout,
    bits_to_cells,
    draw_wall_bits_batch,
    draw_walls_batch,
    move_bits_batch,
    move_bits_from_bits,
)
from hop_envs.core.rules import GridRules
from hop_envs.core.snowdrift import SnowdriftRules
from hop_envs.core.stag_hunt import STAG, StagHuntRules
from hop_envs.core.state import GridState

_PER_ENTRY_FIELDS = (
    "walls",
    "move_bits",
    "cell_object",
    "cell_code",
    "player_pos",
    "active",
    "object_pos",
    "object_alive",
    "t",
    "first_capture_t",
    "over",
)


def cell_codes(
    object_kind: np.ndarray, cell_object: np.ndarray, move_bits: np.ndarray
) -> np.ndarray:
    """``(B, H*W)`` uint8 cell codes ``(kind + 1) * 16 + move_bits`` (kind of the live
    object on the cell, 0 for none; :attr:`BatchedState.cell_code`)."""
    if object_kind.size and int(object_kind.max()) >= 15:
        raise ValueError("cell codes hold at most 15 object kinds")
    kinds = np.append((np.asarray(object_kind) + 1) << NUM_MOVES, 0).astype(np.uint8)
    codes = kinds.take(cell_object)  # cell_object -1 reads the 0 at the end
    codes |= move_bits
    return codes


@dataclass(slots=True)
class BatchedState:
    """``B`` states of one game as stacked arrays (leading axis = batch)."""

    walls: np.ndarray  # (B, H, W) bool
    move_bits: np.ndarray  # (B, H*W) uint8: bit a set when move a is legal from the cell
    cell_object: np.ndarray  # (B, H*W) int16: the live object on each cell, or -1
    player_pos: np.ndarray  # (B, n) int64
    active: np.ndarray  # (B, n) bool
    object_pos: np.ndarray  # (B, m) int64
    object_kind: np.ndarray  # (m,) int64
    object_alive: np.ndarray  # (B, m) bool
    t: np.ndarray  # (B,) int64
    first_capture_t: np.ndarray  # (B,) int64
    over: np.ndarray  # (B,) bool
    #: True when every entry has the same walls and object cells (set by :meth:`stack` for
    #: states of one episode, kept by :meth:`take`), so callers may check one entry for all.
    shared_board: bool = False
    #: (B, H*W) uint8: ``(kind + 1) * 16 + move_bits`` of every cell (kind of its live
    #: object, 0 for none), what step, masks and observe read; derived from the fields
    #: above when not given, and kept up to date by the batched core (code that edits
    #: ``cell_object`` or ``move_bits`` by hand must rebuild it with :func:`cell_codes`).
    cell_code: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.cell_code is None:
            self.cell_code = cell_codes(self.object_kind, self.cell_object, self.move_bits)

    @property
    def batch_size(self) -> int:
        return int(self.player_pos.shape[0])

    @classmethod
    def stack(cls, states: Sequence[GridState]) -> BatchedState:
        """Stack scalar states (all with the same object kinds) into one batch."""
        if not states:
            raise ValueError("cannot stack an empty list of states")
        kinds = states[0].object_kind
        for s in states[1:]:
            if s.object_kind is not kinds and not np.array_equal(s.object_kind, kinds):
                raise ValueError("all stacked states must have the same object kinds")
        size = len(states)
        first = states[0].layout
        if all(s.layout is first for s in states):  # the common case: one episode's states
            bits = ((first.neighbors >= 0) << np.arange(NUM_MOVES)).sum(1).astype(np.uint8)
            move_bits = np.broadcast_to(bits, (size, bits.size)).copy()
            walls = np.broadcast_to(first.walls, (size, *first.walls.shape)).copy()
        else:
            neighbors = np.stack([s.layout.neighbors for s in states])
            move_bits = ((neighbors >= 0) << np.arange(NUM_MOVES)).sum(2).astype(np.uint8)
            walls = np.stack([s.layout.walls for s in states])
        object_pos = np.stack([s.object_pos for s in states])
        object_alive = np.stack([s.object_alive for s in states])
        cell_object = np.full(move_bits.shape, -1, dtype=np.int16)
        entry, index = np.nonzero(object_alive)
        cell_object[entry, object_pos[entry, index]] = index
        shared = all(s.layout is first for s in states) and bool(
            (object_pos == object_pos[0]).all()
        )
        return cls(
            walls=walls,
            move_bits=move_bits,
            cell_object=cell_object,
            player_pos=np.stack([s.player_pos for s in states]),
            active=np.stack([s.active for s in states]),
            object_pos=object_pos,
            object_kind=np.asarray(kinds),
            object_alive=object_alive,
            t=np.asarray([s.t for s in states], dtype=np.int64),
            first_capture_t=np.asarray([s.first_capture_t for s in states], dtype=np.int64),
            over=np.asarray([s.over for s in states], dtype=bool),
            shared_board=shared,
        )

    def take(self, rows: np.ndarray | Sequence[int]) -> BatchedState:
        """The entries ``rows`` (in that order, repeats allowed) as a new batch of copies."""
        rows = np.asarray(rows, dtype=np.int64)
        return BatchedState(
            walls=self.walls[rows],
            move_bits=self.move_bits[rows],
            cell_object=self.cell_object[rows],
            cell_code=self.cell_code[rows],
            player_pos=self.player_pos[rows],
            active=self.active[rows],
            object_pos=self.object_pos[rows],
            object_kind=self.object_kind,
            object_alive=self.object_alive[rows],
            t=self.t[rows],
            first_capture_t=self.first_capture_t[rows],
            over=self.over[rows],
            shared_board=self.shared_board,
        )

    def rows_view(self, start: int, stop: int) -> BatchedState:
        """The entries ``start:stop`` as a batch of views (no copies): writes to either
        show in both."""
        return BatchedState(
            **{name: getattr(self, name)[start:stop] for name in _PER_ENTRY_FIELDS},
            object_kind=self.object_kind,
            shared_board=self.shared_board,
        )

    def put(self, rows: np.ndarray | Sequence[int], other: BatchedState) -> None:
        """Overwrite the entries ``rows`` in place with the entries of ``other`` (one per
        row, in order); the batch no longer counts as one episode's states."""
        rows = np.asarray(rows, dtype=np.int64)
        for name in _PER_ENTRY_FIELDS:
            getattr(self, name)[rows] = getattr(other, name)
        self.shared_board = False

    def state_at(self, index: int, layout: GridLayout) -> GridState:
        """The scalar state at ``index`` on a ``layout`` the caller knows it has (no layout
        is rebuilt, so this is cheap); the arrays are copies."""
        return GridState(
            layout=layout,
            player_pos=self.player_pos[index].copy(),
            active=self.active[index].copy(),
            object_pos=self.object_pos[index].copy(),
            object_kind=self.object_kind,
            object_alive=self.object_alive[index].copy(),
            t=int(self.t[index]),
            first_capture_t=int(self.first_capture_t[index]),
            over=bool(self.over[index]),
        )

    def unstack(self, index: int) -> GridState:
        """The scalar state at ``index`` (copies, so the batch stays untouched)."""
        return self.state_at(index, GridLayout.from_walls(self.walls[index]))


class BatchedOutcome(NamedTuple):
    """Per-entry, per-player results of one batched step; shapes ``(B, n)``."""

    rewards: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    target: np.ndarray
    failed: np.ndarray
    illegal: np.ndarray


class BatchedObservation(NamedTuple):
    """Every seat's view of a batch: ``observation`` ``(B, n, C, H, W)`` uint8 and
    ``action_mask`` ``(B, n, num_actions)`` int8."""

    observation: np.ndarray
    action_mask: np.ndarray


class BatchedGame:
    """Batched reset, step, masks and observation layers for one game's rules.

    Per player, the rules only depend on a small *cell code* (the move bits of the player's
    cell and the kind of the object on it, :attr:`BatchedState.cell_code`) and the action,
    so step and masks are table look-ups indexed by that code: a few gathers over the batch.
    Object actions (hunts, removals), which few players take in a step, are then resolved
    for those players only. :meth:`reset_done` hands out fresh states from a reserve drawn
    ``reset_reserve`` at a time (see there); :meth:`observe` keeps internal scratch buffers
    per thread and batch size, but always returns new arrays.
    """

    def __init__(self, rules: GridRules, reset_reserve: int = 1024) -> None:
        if not isinstance(rules, StagHuntRules | SnowdriftRules):
            raise TypeError(f"no batched core for rules of type {type(rules).__name__}")
        if isinstance(reset_reserve, bool) or not isinstance(reset_reserve, int | np.integer):
            raise TypeError(f"reset_reserve must be an int, got {reset_reserve!r}")
        if reset_reserve < 0:
            raise ValueError(f"reset_reserve must be >= 0, got {reset_reserve}")
        #: How many fresh states :meth:`reset_done` draws at a time (0: exactly those due).
        self.reset_reserve = int(reset_reserve)
        self._reserve: BatchedState | None = None
        self._reserve_rng: np.random.Generator | None = None
        self._reserve_next = 0
        self.rules = rules
        self.config = rules.config
        w = rules.width
        self._deltas = np.asarray([-w, w, -1, 1], dtype=np.int64)  # flat offsets of the moves
        strength = getattr(self.config, "strength", None)
        self._strength = np.asarray(strength if strength else (1.0,), dtype=np.float64)
        self._equal_strength = bool((self._strength == self._strength[0]).all())
        self._init_tables()
        n = rules.num_players
        # Seat s's channel j shows player (s + j) % n.
        self._seat_players = (np.arange(n)[:, None] + np.arange(n)) % n
        # Row c: the grid with only cell c set; the last row: the empty grid.
        cells = rules.height * rules.width
        self._one_hot = np.eye(cells + 1, cells, dtype=np.uint8)
        self._row_cache: dict[tuple[int, int], np.ndarray] = {}
        self._scratch: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}

    def _init_tables(self) -> None:
        """The look-up tables of step and masks.

        A cell code is ``(kind + 1) * 16 + move_bits`` (kind + 1 = 0: no object), and code
        :attr:`_left_code` stands for a player who has left. ``_mask_lut[code]`` is the
        action mask. The step tables are indexed by ``action * num_codes + code`` and read
        with ``mode="clip"``: row ``A`` (and anything past it) stands for an action out of
        range, illegal and run as stay, and a negative index clips to entry 0, an illegal
        move. They give the flat move offset (0 when the move is illegal or no move),
        whether the action is illegal, and whether it is a legal object action."""
        r = self.rules
        bits_count = 1 << NUM_MOVES
        num_codes = bits_count * (len(r.object_kinds) + 1)
        a = r.num_actions
        code = np.arange(num_codes)
        kind1, bits = np.divmod(code, bits_count)
        lut = np.empty((num_codes + 1, a), dtype=np.int8)
        lut[:num_codes, :NUM_MOVES] = (bits[:, None] >> np.arange(NUM_MOVES)) & 1
        lut[:num_codes, NUM_MOVES:] = r._object_action_table[kind1]
        lut[num_codes] = r._stay_only
        self._mask_lut = lut
        self._left_code = num_codes
        self._num_codes = num_codes
        legal = np.zeros((a + 1, num_codes), dtype=bool)  # action-major
        legal[:a] = (lut[:num_codes] == 1).T
        delta = np.zeros((a + 1, num_codes), dtype=np.int64)
        delta[:NUM_MOVES] = np.where(legal[:NUM_MOVES], self._deltas[:, None], 0)
        is_object = np.zeros((a + 1, 1), dtype=bool)
        is_object[NUM_MOVES + 1 : a] = True
        self._step_delta = delta.reshape(-1)
        self._step_illegal = ~legal.reshape(-1)
        self._step_object = (legal & is_object).reshape(-1)
        # By kind * (n + 1) + hunters (kinds stag, hare; 1..n hunters on the object): whether
        # the hunt succeeds, and each hunter's share with equal strengths, computed as the
        # rules do (stag_reward * s / (count * s), hare_reward / count).
        if isinstance(r, StagHuntRules):
            cfg, s = self.config, self._strength[0]
            count = np.arange(r.num_players + 1)
            needed = np.asarray([[cfg.stag_hunters_required], [1]])
            numerator = np.asarray([[cfg.stag_reward * s], [cfg.hare_reward]])
            weight = count[1:] * np.asarray([[s], [1.0]])
            share = np.zeros((2, r.num_players + 1))
            share[:, 1:] = numerator / weight
            self._hunt_won = (count >= needed).reshape(-1)
            self._hunt_share = share.reshape(-1)

    def reset(self, rng: np.random.Generator, batch_size: int) -> BatchedState:
        """``batch_size`` fresh states drawn for the whole batch at once with numpy, from the
        same distribution as the scalar ``rules.reset`` (not the same numbers): walls by
        rejection until the free cells are connected, objects on distinct free cells,
        players on free cells (with replacement)."""
        r = self.rules
        bsz, cells = batch_size, r.height * r.width
        m, n = r.num_objects, r.num_players
        pieces, min_free = self.config.num_wall_pieces, max(m, 1)
        if cells <= BOARD_BITS:  # the same numbers, with the grids as bitboards
            bits = draw_wall_bits_batch(rng, bsz, r.height, r.width, pieces, min_free)
            flat_walls = bits_to_cells(bits, cells)
            move_bits = move_bits_from_bits(bits, r.height, r.width)
            num_free = cells - np.bitwise_count(bits).astype(np.int64)
        else:
            flat_walls = draw_walls_batch(rng, bsz, r.height, r.width, pieces, min_free).reshape(
                bsz, cells
            )
            move_bits = move_bits_batch(flat_walls.reshape(bsz, r.height, r.width))
            num_free = cells - flat_walls.sum(1)
        # Sorting one uniform key per cell, walls last (keys in [1, 2)), orders each entry's
        # free cells uniformly at random: the first m are the objects (a uniform ordered
        # sample without replacement), and a uniform rank below the free count picks a
        # player's cell.
        keys = rng.random((bsz, cells))
        keys += flat_walls
        order = keys.argsort(1)
        ranks = rng.integers(0, num_free[:, None], size=(bsz, n))
        rows = np.arange(bsz)[:, None]
        object_pos = order[:, :m].astype(np.int64)
        player_pos = order[rows, ranks].astype(np.int64)
        walls = flat_walls.reshape(bsz, r.height, r.width)
        cell_object = np.full((bsz, cells), -1, dtype=np.int16)
        cell_object[rows, object_pos] = np.arange(m, dtype=np.int16)
        cell_code = move_bits.copy()  # every object is alive: add its kind code on its cell
        cell_code[rows, object_pos] |= ((r._object_kind + 1) << NUM_MOVES).astype(np.uint8)
        return BatchedState(
            walls=walls,
            move_bits=move_bits,
            cell_object=cell_object,
            cell_code=cell_code,
            player_pos=player_pos,
            active=np.ones((bsz, n), dtype=bool),
            object_pos=object_pos,
            object_kind=np.asarray(r._object_kind),
            object_alive=np.ones((bsz, m), dtype=bool),
            t=np.zeros(bsz, dtype=np.int64),
            first_capture_t=np.full(bsz, -1, dtype=np.int64),
            over=np.zeros(bsz, dtype=bool),
        )

    def reset_sequential(self, rng: np.random.Generator, batch_size: int) -> BatchedState:
        """``batch_size`` states drawn one after another with the scalar ``rules.reset``
        (the same numbers as that loop; much slower than :meth:`reset`)."""
        return BatchedState.stack([self.rules.reset(rng) for _ in range(batch_size)])

    def reset_done(self, state: BatchedState, rng: np.random.Generator) -> np.ndarray:
        """Auto-reset: re-draw in place every entry whose episode is over, from the
        distribution of :meth:`reset`; return the indices of the entries re-drawn.

        The fresh states come from a reserve drawn with :meth:`reset` from ``rng``,
        ``reset_reserve`` states at a time (or as many as one call needs, if more), so the
        fixed cost of a draw is paid once per reserve rather than on every step: the same
        distribution, not the numbers that one draw per call would give. The reserve belongs
        to ``rng``: passing another Generator drops it. To replay after rewinding a
        Generator's state, call :meth:`clear_reserve` too. With ``reset_reserve=0`` every
        call draws exactly the entries it re-draws."""
        rows = state.over.nonzero()[0]
        if rows.size:
            state.put(rows, self._fresh_states(rng, rows.size))
        return rows

    def clear_reserve(self) -> None:
        """Drop the fresh states :meth:`reset_done` holds in reserve."""
        self._reserve, self._reserve_rng, self._reserve_next = None, None, 0

    def _fresh_states(self, rng: np.random.Generator, count: int) -> BatchedState:
        """``count`` fresh states (views into the reserve when there is one)."""
        if self.reset_reserve == 0:
            return self.reset(rng, count)
        reserve = self._reserve if self._reserve_rng is rng else None
        if reserve is None or reserve.batch_size - self._reserve_next < count:
            # What is left of the old reserve is dropped (independent of what is drawn).
            reserve = self.reset(rng, max(self.reset_reserve, count))
            self._reserve, self._reserve_rng, self._reserve_next = reserve, rng, 0
        start = self._reserve_next
        self._reserve_next = start + count
        return reserve.rows_view(start, start + count)

    def observe(self, state: BatchedState) -> BatchedObservation:
        """Every seat's observation grid and action mask for the whole batch, exactly as the
        ParallelEnv gives them: ``observation`` ``(B, n, C, H, W)`` uint8 (seat ``i``'s grid
        is ``rules.observation(state, i)``: its own channel first, the others in seat order,
        then walls and the object channels) and ``action_mask`` ``(B, n, A)`` int8 (as
        ``rules.action_masks``: stay only for players who have left; a finished entry keeps
        the masks of its last state, as the env's last observations do). Both arrays are
        new on every call.

        Every channel of every seat's grid is one row copied from a table: a player's
        channel is the one-hot row of its cell (the empty row once it has left), the others
        are the entry's board rows (walls, object kinds). One ``take`` writes them all."""
        r = self.rules
        bsz, n = state.player_pos.shape
        cells = r.height * r.width
        kinds = r.num_channels - n  # walls and object channels
        masks = self._masks(state, state.active)  # first, while the state is in cache
        table, rows = self._observe_scratch(bsz)
        # Player rows: the one-hot row of each player's cell (the empty row once it left).
        cell = np.where(state.active, state.player_pos, cells)
        self._one_hot.take(cell.reshape(-1), axis=0, out=table[: bsz * n], mode="clip")
        board = table[bsz * n :].reshape(bsz, kinds, cells)
        board[:, 0] = state.walls.reshape(bsz, cells).view(np.uint8)
        # Object channel k: the cells whose code holds kind k + 1 (a live object of kind k).
        kind_here = state.cell_code >> NUM_MOVES
        for kind in range(1, kinds):
            np.equal(kind_here, kind, out=board[:, kind].view(bool))
        # mode="clip" skips numpy's bounds check of every index (always valid here).
        obs = table.take(rows, axis=0, mode="clip")
        return BatchedObservation(obs.reshape(bsz, n, r.num_channels, r.height, r.width), masks)

    def _observe_scratch(self, bsz: int) -> tuple[np.ndarray, np.ndarray]:
        """Internal buffers of :meth:`observe` (never returned: its ``take`` writes every
        observation into a new array), one pair per thread and batch size: the row table
        (each entry's player rows, then its board rows: walls, object kinds) and the
        constant ``(B, n, C)`` row index into it (seat s's channel j < n is player
        (s + j) % n's row)."""
        key = (threading.get_ident(), bsz)
        scratch = self._scratch.get(key)
        if scratch is None:
            r = self.rules
            n, kinds, cells = r.num_players, r.num_channels - r.num_players, r.height * r.width
            table = np.zeros((bsz * (n + kinds), cells), dtype=np.uint8)
            rows = np.empty((bsz, n, r.num_channels), dtype=np.intp)
            entry = np.arange(bsz)[:, None, None]
            rows[:, :, :n] = entry * n + self._seat_players
            rows[:, :, n:] = bsz * n + entry * kinds + np.arange(kinds)
            if len(self._scratch) >= 8:
                self._scratch.clear()
            scratch = self._scratch[key] = (table, rows)
        return scratch

    def action_masks(self, state: BatchedState) -> np.ndarray:
        """``(B, n, num_actions)`` int8 masks (stay only for players who have left and in
        finished entries)."""
        return self._masks(state, state.active & ~state.over[:, None])

    def _masks(self, state: BatchedState, acting: np.ndarray) -> np.ndarray:
        """Masks with stay only where ``acting`` is False."""
        codes = self._cell_codes(state, self._flat_positions(state))
        codes = np.where(acting, codes, self._left_code)  # every code is a row of the table
        return self._mask_lut.take(codes, axis=0, mode="clip")

    def layers(self, state: BatchedState) -> np.ndarray:
        """``(B, C, H, W)`` global grids in seat order."""
        r = self.rules
        bsz, n, cells = state.batch_size, r.num_players, r.height * r.width
        grid = np.empty((bsz, r.num_channels, cells), dtype=np.uint8)
        grid[:, :n] = 0
        grid[:, n] = state.walls.reshape(bsz, cells).view(np.uint8)
        kind_here = state.cell_code >> NUM_MOVES  # kind + 1 of the live object, 0 for none
        for kind in range(1, r.num_channels - n):
            np.equal(kind_here, kind, out=grid[:, n + kind].view(bool))
        players = state.player_pos + self._row_offsets(bsz, r.num_channels * cells)
        players += np.arange(0, n * cells, cells)
        flat = grid.reshape(-1)
        flat[players.reshape(-1) if state.active.all() else players[state.active]] = 1
        return grid.reshape(bsz, r.num_channels, r.height, r.width)

    def step(self, state: BatchedState, actions: np.ndarray) -> BatchedOutcome:
        """Advance every unfinished entry in place by one joint action ``(B, n)``."""
        acts = np.asarray(actions, dtype=np.int64)
        if acts.shape != state.player_pos.shape:
            raise ValueError(
                f"actions must have shape {state.player_pos.shape} (batch, players), "
                f"got {acts.shape}"
            )
        live = ~state.over
        acting = state.active & live[:, None]
        flat = self._flat_positions(state)
        code = acts * self._num_codes
        code += self._cell_codes(state, flat)
        code *= acting  # entry 0 is an illegal move: no offset, no object action
        illegal = self._step_illegal.take(code, mode="clip")
        illegal &= acting
        # The players taking a legal object action, as flat (entry * n + seat) indices.
        takers = self._step_object.take(code, mode="clip").ravel().nonzero()[0]
        obj = state.cell_object.take(flat.take(takers)).astype(np.int64)
        state.player_pos += self._step_delta.take(code, mode="clip")
        if isinstance(self.rules, StagHuntRules):
            out = self._step_stag_hunt(state, acting, live, takers, obj)
        else:
            out = self._step_snowdrift(state, acting, live, takers, obj)
        return BatchedOutcome(*out, illegal)

    # -- internals ---------------------------------------------------------------------------
    def _row_offsets(self, bsz: int, stride: int) -> np.ndarray:
        """``(B, 1)`` int64: ``row * stride``, cached per batch size and stride."""
        key = (bsz, stride)
        offsets = self._row_cache.get(key)
        if offsets is None:
            if len(self._row_cache) > 64:
                self._row_cache.clear()
            offsets = np.arange(0, bsz * stride, stride, dtype=np.int64)[:, None]
            offsets.setflags(write=False)
            self._row_cache[key] = offsets
        return offsets

    def _flat_positions(self, state: BatchedState) -> np.ndarray:
        """``(B, n)`` indices of every player's cell in the flattened ``(B, H*W)`` arrays."""
        bsz, cells = state.move_bits.shape
        return state.player_pos + self._row_offsets(bsz, cells)

    @staticmethod
    def _cell_codes(state: BatchedState, flat: np.ndarray) -> np.ndarray:
        """``(B, n)`` cell codes of the players at ``flat`` (see :meth:`_init_tables`)."""
        return state.cell_code.take(flat)

    def _finish_time(self, state: BatchedState, live: np.ndarray, captured_rows: np.ndarray):
        """Count the step of the live entries; record the first capture of the entries
        ``captured_rows`` (repeats allowed)."""
        np.add(state.t, live, out=state.t)
        if captured_rows.size:
            newly = captured_rows[state.first_capture_t.take(captured_rows) < 0]
            state.first_capture_t[newly] = state.t[newly]

    def _remove_objects(self, state: BatchedState, rows: np.ndarray, keys: np.ndarray) -> None:
        """Mark the objects ``keys`` (flat ``entry * m + object`` indices, of the entries
        ``rows``) as dead and clear their cells."""
        cells = state.cell_object.shape[1]
        state.object_alive.put(keys, False)
        at = rows * cells + state.object_pos.take(keys)
        state.cell_object.put(at, -1)
        state.cell_code.put(at, state.move_bits.take(at))

    def _step_stag_hunt(self, state, acting, live, takers, obj):
        """The hunts of the players ``takers`` (flat ``entry * n + seat``) on the objects
        ``obj`` (legal hunts on the right kind), then the removals, departures and episode
        ends."""
        cfg = self.config
        bsz, n = acting.shape
        m = state.object_pos.shape[1]
        rewards = np.zeros((bsz, n))
        target = np.full((bsz, n), -1, dtype=np.int64)
        failed = np.zeros((bsz, n), dtype=bool)
        terminated = np.zeros((bsz, n), dtype=bool)
        won_rows = takers[:0]
        if takers.size:
            rows = takers // n
            key = rows * m + obj
            count = np.bincount(key, minlength=bsz * m)[key]
            kind = state.object_kind.take(obj)
            if self._equal_strength:
                index = kind * (n + 1) + count
                won = self._hunt_won.take(index)
                share = self._hunt_share.take(index)
            else:
                is_stag = kind == STAG
                won = ~is_stag | (count >= cfg.stag_hunters_required)
                strength = self._strength[takers - rows * n]
                weight = np.bincount(key, weights=strength, minlength=bsz * m)[key]
                share = np.where(
                    is_stag, cfg.stag_reward * strength / weight, cfg.hare_reward / count
                )
            winners = takers[won]
            won_rows = rows[won]
            rewards.reshape(-1)[winners] = share[won]
            failed.reshape(-1)[takers[~won]] = True
            target.reshape(-1)[winners] = obj[won]
            terminated.reshape(-1)[winners] = True
            state.active.put(winners, False)
            self._remove_objects(state, won_rows, key[won])
        if cfg.time_reward:
            rewards = rewards + cfg.time_reward * acting
        if cfg.reward_mode == "prosocial":
            rewards = np.where(acting, rewards.sum(1, keepdims=True) / n, 0.0)
        self._finish_time(state, live, won_rows)
        no_prey = ~_any_per_row(state.object_alive)
        no_prey &= live
        if no_prey.any():
            terminated[no_prey] |= state.active[no_prey]
            state.active[no_prey] = False
        timeout = state.t >= cfg.max_cycles
        if cfg.end_after_first_hunt is not None:
            timeout |= (state.first_capture_t >= 0) & (
                state.t - state.first_capture_t >= cfg.end_after_first_hunt
            )
        timeout &= live
        timeout &= ~no_prey
        truncated = np.zeros((bsz, n), dtype=bool)
        ended = ~_any_per_row(state.active)
        if timeout.any():
            truncated[timeout] = state.active[timeout]
            ended |= _any_per_row(truncated)
        ended &= live
        state.over |= ended
        return rewards, terminated, truncated, target, failed

    def _step_snowdrift(self, state, acting, live, takers, obj):
        """The removals of the players ``takers`` (flat ``entry * n + seat``) on the drifts
        ``obj``, then the episode ends."""
        cfg = self.config
        bsz, n = acting.shape
        m = state.object_pos.shape[1]
        rewards = np.zeros((bsz, n))
        # An entry without removals gets removal_reward * 0 - 0.0 (-0.0 for a negative
        # removal reward), as the scalar rules give.
        nothing = cfg.removal_reward * 0 - 0.0
        if np.signbit(nothing):
            rewards[live] = nothing
        target = np.full((bsz, n), -1, dtype=np.int64)
        removed_rows = takers[:0]
        if takers.size:
            rows = takers // n
            key = rows * m + obj
            counts = np.bincount(key, minlength=bsz * m)
            removed = counts.nonzero()[0]
            removed_rows = removed // m
            per_row = np.bincount(removed_rows, minlength=bsz)
            hit = per_row.nonzero()[0]
            rewards[hit] = cfg.removal_reward * per_row[hit, None]
            rewards.reshape(-1)[takers] -= cfg.removal_cost / counts[key]
            target.reshape(-1)[takers] = obj
            self._remove_objects(state, removed_rows, removed)
        if cfg.reward_mode == "prosocial":
            # every player of a live entry gets the mean (players never leave a snowdrift)
            mean = np.where(live, rewards.sum(1) / n, 0.0)
            rewards = np.repeat(mean[:, None], n, axis=1)
        self._finish_time(state, live, removed_rows)
        cleared = ~_any_per_row(state.object_alive)
        cleared &= live
        timeout = live & ~cleared & (state.t >= cfg.max_cycles)
        terminated = cleared[:, None].repeat(n, axis=1)
        truncated = timeout[:, None].repeat(n, axis=1)
        state.over |= cleared | timeout
        failed = np.zeros((bsz, n), dtype=bool)
        return rewards, terminated, truncated, target, failed


_UINT_OF_SIZE = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


@functools.cache
def _ones_u8(k: int) -> np.ndarray:
    ones = np.ones(k, dtype=np.uint8)
    ones.setflags(write=False)
    return ones


def _any_per_row(flags: np.ndarray) -> np.ndarray:
    """``(B,)``: whether each row of a ``(B, k)`` bool array has a True (``flags.any(1)``,
    which is slow for short rows: a row of 1, 2, 4 or 8 flags is read as one integer, and
    up to 255 flags are summed by a matrix product)."""
    k = flags.shape[1]
    if k in _UINT_OF_SIZE and flags.flags.c_contiguous:
        return flags.view(_UINT_OF_SIZE[k])[:, 0] != 0
    if k <= 255:
        return (flags.view(np.uint8) @ _ones_u8(k)) != 0
    return flags.any(1)
