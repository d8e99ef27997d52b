"""The batched core: many states of one game stepped at once with numpy.

This is the fast path for training and search. It follows the scalar rules exactly (the
tests step both side by side); finished entries are left unchanged by further steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from hop_envs.core.layout import NUM_MOVES, STAY, GridLayout, draw_walls_batch, move_bits_batch
from hop_envs.core.rules import GridRules
from hop_envs.core.snowdrift import REMOVE, SnowdriftRules
from hop_envs.core.stag_hunt import HARE, HUNT_HARE, HUNT_STAG, STAG, StagHuntRules
from hop_envs.core.state import GridState

_PER_ENTRY_FIELDS = (
    "walls",
    "move_bits",
    "cell_object",
    "player_pos",
    "active",
    "object_pos",
    "object_alive",
    "t",
    "first_capture_t",
    "over",
)


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
    """Batched reset, step, masks and observation layers for one game's rules."""

    def __init__(self, rules: GridRules) -> None:
        if not isinstance(rules, StagHuntRules | SnowdriftRules):
            raise TypeError(f"no batched core for rules of type {type(rules).__name__}")
        self.rules = rules
        self.config = rules.config
        w = rules.width
        self._deltas = np.asarray([-w, w, -1, 1], dtype=np.int64)  # flat offsets of the moves
        self._bit_index = np.arange(NUM_MOVES, dtype=np.uint8)
        strength = getattr(self.config, "strength", None)
        self._strength = np.asarray(strength if strength else (1.0,), dtype=np.float64)
        self._equal_strength = bool((self._strength == self._strength[0]).all())
        # The mask of a player on a cell with move bits b holding an object of kind k
        # (k + 1; 0: none) is _mask_lut[b, k + 1].
        lut = np.empty((1 << NUM_MOVES, len(rules.object_kinds) + 1, rules.num_actions), np.int8)
        lut[..., :NUM_MOVES] = ((np.arange(1 << NUM_MOVES)[:, None] >> self._bit_index) & 1)[
            :, None
        ]
        lut[..., NUM_MOVES:] = rules._object_action_table[None]
        self._mask_lut = lut
        self._channel_orders = np.stack(
            [rules.channel_order(seat) for seat in range(rules.num_players)]
        )

    def reset(self, rng: np.random.Generator, batch_size: int) -> BatchedState:
        """``batch_size`` fresh states drawn for the whole batch at once with numpy, from the
        same distribution as the scalar ``rules.reset`` (not the same numbers): walls by
        rejection until the free cells are connected, objects on distinct free cells,
        players on free cells (with replacement)."""
        r = self.rules
        bsz, cells = batch_size, r.height * r.width
        m, n = r.num_objects, r.num_players
        walls = draw_walls_batch(
            rng, bsz, r.height, r.width, self.config.num_wall_pieces, min_free=max(m, 1)
        )
        flat_walls = walls.reshape(bsz, cells)
        # Sorting one uniform key per cell, walls last, orders each entry's free cells
        # uniformly at random: the first m are the objects (a uniform ordered sample without
        # replacement), and a uniform rank below the free count picks a player's cell.
        keys = rng.random((bsz, cells))
        keys[flat_walls] = 2.0
        order = keys.argsort(1)
        num_free = cells - flat_walls.sum(1)
        ranks = rng.integers(0, num_free[:, None], size=(bsz, n))
        rows = np.arange(bsz)[:, None]
        object_pos = order[:, :m].astype(np.int64)
        cell_object = np.full((bsz, cells), -1, dtype=np.int16)
        cell_object[rows, object_pos] = np.arange(m, dtype=np.int16)
        return BatchedState(
            walls=walls,
            move_bits=move_bits_batch(walls),
            cell_object=cell_object,
            player_pos=order[rows, ranks].astype(np.int64),
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
        """Auto-reset: re-draw, in place and as :meth:`reset` does, every entry whose
        episode is over; return the indices of the entries re-drawn."""
        rows = np.flatnonzero(state.over)
        if rows.size == 0:
            return rows
        state.put(rows, self.reset(rng, rows.size))
        return rows

    def observe(self, state: BatchedState) -> BatchedObservation:
        """Every seat's observation grid and action mask for the whole batch, exactly as the
        ParallelEnv gives them: ``observation`` ``(B, n, C, H, W)`` uint8 (seat ``i``'s grid
        is ``rules.observation(state, i)``: its own channel first, the others in seat order,
        then walls and the object channels) and ``action_mask`` ``(B, n, A)`` int8 (as
        ``rules.action_masks``: stay only for players who have left; a finished entry keeps
        the masks of its last state, as the env's last observations do)."""
        r = self.rules
        grids = self.layers(state).reshape(state.batch_size, r.num_channels, -1)
        obs = np.take(grids, self._channel_orders, axis=1)
        return BatchedObservation(
            obs.reshape(state.batch_size, r.num_players, r.num_channels, r.height, r.width),
            self._masks(state, state.active),
        )

    def action_masks(self, state: BatchedState) -> np.ndarray:
        """``(B, n, num_actions)`` int8 masks (stay only for players who have left and in
        finished entries)."""
        return self._masks(state, state.active & ~state.over[:, None])

    def _masks(self, state: BatchedState, acting: np.ndarray) -> np.ndarray:
        """Masks with stay only where ``acting`` is False."""
        bits = self._gather_cells(state, state.move_bits)
        kind_here = self._kind_here(state, self._object_here(state))
        masks = self._mask_lut[bits, kind_here + 1]
        masks[~acting] = self.rules._stay_only
        return masks

    def layers(self, state: BatchedState) -> np.ndarray:
        """``(B, C, H, W)`` global grids in seat order."""
        r = self.rules
        bsz, n, cells = state.batch_size, r.num_players, r.height * r.width
        size = r.num_channels * cells
        grid = np.zeros((bsz, r.num_channels, cells), dtype=np.uint8)
        flat = grid.reshape(-1)
        base = np.arange(0, bsz * size, size)[:, None]  # flat offset of each entry's grid
        players = base + np.arange(0, n * cells, cells) + state.player_pos
        flat[players.reshape(-1) if state.active.all() else players[state.active]] = 1
        grid[:, n] = state.walls.reshape(bsz, -1).view(np.uint8)
        objects = base + (n + 1 + state.object_kind) * cells + state.object_pos
        flat[objects[state.object_alive]] = 1
        return grid.reshape(bsz, r.num_channels, r.height, r.width)

    def step(self, state: BatchedState, actions: np.ndarray) -> BatchedOutcome:
        """Advance every unfinished entry in place by one joint action ``(B, n)``."""
        acts = np.asarray(actions, dtype=np.int64)
        if acts.shape != state.player_pos.shape:
            raise ValueError(
                f"actions must have shape {state.player_pos.shape} (batch, players), "
                f"got {acts.shape}"
            )
        acting = state.active & ~state.over[:, None]
        is_move = acts < NUM_MOVES
        move = np.minimum(acts, NUM_MOVES - 1)
        bits = self._gather_cells(state, state.move_bits)
        move_ok = is_move & (((bits >> move) & 1) == 1)
        new_pos = np.where(
            acting & move_ok, state.player_pos + self._deltas[move], state.player_pos
        )
        obj_here = self._object_here(state)
        if isinstance(self.rules, StagHuntRules):
            out = self._step_stag_hunt(state, acts, acting, obj_here)
        else:
            out = self._step_snowdrift(state, acts, acting, obj_here)
        rewards, terminated, truncated, target, failed, object_ok = out
        illegal = acting & ((is_move & ~move_ok) | (~is_move & (acts != STAY) & ~object_ok))
        state.player_pos[:] = new_pos
        return BatchedOutcome(rewards, terminated, truncated, target, failed, illegal)

    # -- internals ---------------------------------------------------------------------------
    @staticmethod
    def _gather_cells(state: BatchedState, per_cell: np.ndarray) -> np.ndarray:
        """``per_cell`` ``(B, H*W)`` read at every player's cell -> ``(B, n)``."""
        bsz, cells = per_cell.shape
        return per_cell.reshape(-1)[(np.arange(bsz) * cells)[:, None] + state.player_pos]

    def _move_legal(self, state: BatchedState) -> np.ndarray:
        """``(B, n, 4)`` legality of the four moves of every player."""
        bits = self._gather_cells(state, state.move_bits)
        return ((bits[..., None] >> self._bit_index) & 1).astype(bool)

    def _object_here(self, state: BatchedState) -> np.ndarray:
        """``(B, n)`` index of the live object on each player's cell, or -1."""
        return self._gather_cells(state, state.cell_object).astype(np.int64)

    def _remove_objects(self, state: BatchedState, gone: np.ndarray) -> None:
        """Mark the ``(B, m)`` objects in ``gone`` as dead and clear their cells."""
        state.object_alive &= ~gone
        bi, ki = np.nonzero(gone)
        state.cell_object[bi, state.object_pos[bi, ki]] = -1

    @staticmethod
    def _kind_here(state: BatchedState, obj_here: np.ndarray) -> np.ndarray:
        """``(B, n)`` kind of the object on each player's cell, or -1."""
        return np.where(obj_here >= 0, state.object_kind[np.maximum(obj_here, 0)], -1)

    @staticmethod
    def _group_sizes(
        state: BatchedState, obj_here: np.ndarray, members: np.ndarray, weights=None
    ) -> np.ndarray:
        """``(B, m)`` number (or weight sum) of ``members`` on each object."""
        bsz, m = state.object_pos.shape
        flat = (np.arange(bsz)[:, None] * m + obj_here)[members]
        w = None if weights is None else weights[members]
        return np.bincount(flat, weights=w, minlength=bsz * m).reshape(bsz, m)

    def _finish_time(self, state: BatchedState, live: np.ndarray, any_target: np.ndarray):
        state.t += live
        newly = live & any_target & (state.first_capture_t < 0)
        state.first_capture_t[newly] = state.t[newly]

    def _step_stag_hunt(self, state, acts, acting, obj_here):
        cfg = self.config
        n = self.rules.num_players
        live = ~state.over
        b = np.arange(state.batch_size)[:, None]
        kind_here = self._kind_here(state, obj_here)
        want = np.where(acts == HUNT_STAG, STAG, HARE)
        hunting = acting & ((acts == HUNT_STAG) | (acts == HUNT_HARE)) & (kind_here == want)
        obj_idx = np.maximum(obj_here, 0)
        count = self._group_sizes(state, obj_here, hunting)
        if self._equal_strength:
            strength = self._strength[0]
            weight = count * strength
        else:
            strength = np.broadcast_to(self._strength, acts.shape)
            weight = self._group_sizes(state, obj_here, hunting, strength)
        is_stag = state.object_kind == STAG
        captured = np.where(is_stag[None, :], count >= cfg.stag_hunters_required, count >= 1)
        won = hunting & captured[b, obj_idx]
        failed = hunting & ~won
        my_count = count[b, obj_idx]
        stag_share = cfg.stag_reward * strength / np.where(won, weight[b, obj_idx], 1.0)
        hare_share = cfg.hare_reward / np.where(won, my_count, 1)
        rewards = np.where(won, np.where(kind_here == STAG, stag_share, hare_share), 0.0)
        if cfg.time_reward:
            rewards = rewards + cfg.time_reward * acting
        if cfg.reward_mode == "prosocial":
            rewards = np.where(acting, rewards.sum(1, keepdims=True) / n, 0.0)
        target = np.where(won, obj_here, -1)
        self._remove_objects(state, captured)
        terminated = won.copy()
        state.active &= ~terminated
        self._finish_time(state, live, captured.any(1))
        no_prey = live & ~state.object_alive.any(1)
        terminated |= no_prey[:, None] & state.active
        state.active &= ~no_prey[:, None]
        timeout = state.t >= cfg.max_cycles
        if cfg.end_after_first_hunt is not None:
            timeout |= (state.first_capture_t >= 0) & (
                state.t - state.first_capture_t >= cfg.end_after_first_hunt
            )
        timeout &= live & ~no_prey
        truncated = timeout[:, None] & state.active
        state.over |= live & (~state.active.any(1) | truncated.any(1))
        return rewards, terminated, truncated, target, failed, hunting

    def _step_snowdrift(self, state, acts, acting, obj_here):
        cfg = self.config
        n = self.rules.num_players
        live = ~state.over
        b = np.arange(state.batch_size)[:, None]
        removing = acting & (acts == REMOVE) & (obj_here >= 0)
        count = self._group_sizes(state, obj_here, removing)
        removed = count > 0
        my_count = count[b, np.maximum(obj_here, 0)]
        cost = np.where(removing, cfg.removal_cost / np.where(removing, my_count, 1), 0.0)
        rewards = cfg.removal_reward * removed.sum(1, keepdims=True) - cost
        rewards = np.where(live[:, None], rewards, 0.0)
        if cfg.reward_mode == "prosocial":
            rewards = np.where(live[:, None], rewards.sum(1, keepdims=True) / n, 0.0)
        target = np.where(removing, obj_here, -1)
        self._remove_objects(state, removed)
        self._finish_time(state, live, removed.any(1))
        cleared = live & ~state.object_alive.any(1)
        timeout = live & ~cleared & (state.t >= cfg.max_cycles)
        terminated = np.repeat(cleared[:, None], n, axis=1)
        truncated = np.repeat(timeout[:, None], n, axis=1)
        state.over |= cleared | timeout
        failed = np.zeros_like(acting)
        return rewards, terminated, truncated, target, failed, removing
