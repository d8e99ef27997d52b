"""The batched core: many states of one game stepped at once with numpy.

This is the fast path for training and search. It follows the scalar rules exactly (the
tests step both side by side); finished entries are left unchanged by further steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hop_envs.core.layout import NUM_MOVES, GridLayout
from hop_envs.core.rules import GridRules
from hop_envs.core.snowdrift import REMOVE, SnowdriftRules
from hop_envs.core.stag_hunt import HARE, HUNT_HARE, HUNT_STAG, STAG, StagHuntRules
from hop_envs.core.state import GridState


@dataclass(slots=True)
class BatchedState:
    """``B`` states of one game as stacked arrays (leading axis = batch)."""

    walls: np.ndarray  # (B, H, W) bool
    neighbors: np.ndarray  # (B, H*W, 4) int64
    player_pos: np.ndarray  # (B, n) int64
    active: np.ndarray  # (B, n) bool
    object_pos: np.ndarray  # (B, m) int64
    object_kind: np.ndarray  # (m,) int64
    object_alive: np.ndarray  # (B, m) bool
    t: np.ndarray  # (B,) int64
    first_capture_t: np.ndarray  # (B,) int64
    over: np.ndarray  # (B,) bool

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
            if not np.array_equal(s.object_kind, kinds):
                raise ValueError("all stacked states must have the same object kinds")
        return cls(
            walls=np.stack([s.layout.walls for s in states]),
            neighbors=np.stack([s.layout.neighbors for s in states]),
            player_pos=np.stack([s.player_pos for s in states]),
            active=np.stack([s.active for s in states]),
            object_pos=np.stack([s.object_pos for s in states]),
            object_kind=np.asarray(kinds),
            object_alive=np.stack([s.object_alive for s in states]),
            t=np.asarray([s.t for s in states], dtype=np.int64),
            first_capture_t=np.asarray([s.first_capture_t for s in states], dtype=np.int64),
            over=np.asarray([s.over for s in states], dtype=bool),
        )

    def unstack(self, index: int) -> GridState:
        """The scalar state at ``index`` (copies, so the batch stays untouched)."""
        layout = GridLayout.from_walls(self.walls[index])
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


@dataclass(frozen=True, slots=True)
class BatchedOutcome:
    """Per-entry, per-player results of one batched step; shapes ``(B, n)``."""

    rewards: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    target: np.ndarray
    failed: np.ndarray
    illegal: np.ndarray


class BatchedGame:
    """Batched reset, step, masks and observation layers for one game's rules."""

    def __init__(self, rules: GridRules) -> None:
        if not isinstance(rules, StagHuntRules | SnowdriftRules):
            raise TypeError(f"no batched core for rules of type {type(rules).__name__}")
        self.rules = rules
        self.config = rules.config

    def reset(self, rng: np.random.Generator, batch_size: int) -> BatchedState:
        """``batch_size`` fresh states drawn one after another from ``rng``."""
        return BatchedState.stack([self.rules.reset(rng) for _ in range(batch_size)])

    def action_masks(self, state: BatchedState) -> np.ndarray:
        """``(B, n, num_actions)`` int8 masks."""
        r = self.rules
        b = np.arange(state.batch_size)[:, None]
        masks = np.zeros((state.batch_size, r.num_players, r.num_actions), dtype=np.int8)
        live = state.active & ~state.over[:, None]
        masks[..., :NUM_MOVES] = (state.neighbors[b, state.player_pos] >= 0) & live[..., None]
        masks[..., NUM_MOVES] = 1
        here = self._objects_here(state)  # (B, n, m)
        for action in range(NUM_MOVES + 1, r.num_actions):
            ok_kind = np.asarray(
                [r.object_action_legal(action, int(k)) for k in state.object_kind], dtype=bool
            )
            masks[..., action] = (here & ok_kind).any(2) & live
        return masks

    def layers(self, state: BatchedState) -> np.ndarray:
        """``(B, C, H, W)`` global grids in seat order."""
        r = self.rules
        bsz, n = state.batch_size, r.num_players
        grid = np.zeros((bsz, r.num_channels, r.height * r.width), dtype=np.uint8)
        bi, si = np.nonzero(state.active)
        grid[bi, si, state.player_pos[bi, si]] = 1
        grid[:, n] = state.walls.reshape(bsz, -1)
        bo, ko = np.nonzero(state.object_alive)
        grid[bo, n + 1 + state.object_kind[ko], state.object_pos[bo, ko]] = 1
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
        b = np.arange(state.batch_size)[:, None]
        is_move = acts < NUM_MOVES
        nxt = state.neighbors[b, state.player_pos, np.minimum(acts, NUM_MOVES - 1)]
        move_ok = is_move & (nxt >= 0)
        new_pos = np.where(acting & move_ok, nxt, state.player_pos)
        here = self._objects_here(state)
        if isinstance(self.rules, StagHuntRules):
            out = self._step_stag_hunt(state, acts, acting, here)
        else:
            out = self._step_snowdrift(state, acts, acting, here)
        rewards, terminated, truncated, target, failed, object_ok = out
        illegal = acting & ((is_move & ~move_ok) | (~is_move & (acts != 4) & ~object_ok))
        state.player_pos[:] = new_pos
        return BatchedOutcome(rewards, terminated, truncated, target, failed, illegal)

    # -- internals ---------------------------------------------------------------------------
    @staticmethod
    def _objects_here(state: BatchedState) -> np.ndarray:
        """``(B, n, m)``: live object k lies on player i's cell."""
        return (state.object_pos[:, None, :] == state.player_pos[:, :, None]) & (
            state.object_alive[:, None, :]
        )

    def _finish_time(self, state: BatchedState, live: np.ndarray, any_target: np.ndarray):
        state.t += live
        newly = live & any_target & (state.first_capture_t < 0)
        state.first_capture_t[newly] = state.t[newly]

    def _step_stag_hunt(self, state, acts, acting, here):
        cfg = self.config
        n = self.rules.num_players
        live = ~state.over
        kinds = state.object_kind
        want = np.where(acts == HUNT_STAG, STAG, HARE)
        hunting = acting & ((acts == HUNT_STAG) | (acts == HUNT_HARE))
        groups = here & hunting[..., None] & (kinds[None, None, :] == want[..., None])
        count = groups.sum(1)
        strength = np.asarray(cfg.strength, dtype=np.float64)
        weight = (groups * strength[None, :, None]).sum(1)
        is_stag = kinds == STAG
        captured = np.where(is_stag[None, :], count >= cfg.stag_hunters_required, count >= 1)
        won = groups & captured[:, None, :]
        stag_share = (
            cfg.stag_reward * strength[None, :, None] / np.where(weight > 0, weight, 1)[:, None, :]
        )
        hare_share = cfg.hare_reward / np.maximum(count, 1)[:, None, :]
        share = np.where(is_stag[None, None, :], stag_share, hare_share)
        rewards = np.where(won, share, 0.0).sum(2)
        if cfg.time_reward:
            rewards = rewards + cfg.time_reward * acting
        if cfg.reward_mode == "prosocial":
            rewards = np.where(acting, rewards.sum(1, keepdims=True) / n, 0.0)
        failed = (groups & ~captured[:, None, :]).any(2)
        captured_p = won.any(2)
        target = np.where(captured_p, won.argmax(2), -1)
        state.object_alive &= ~captured
        terminated = captured_p.copy()
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
        return rewards, terminated, truncated, target, failed, groups.any(2)

    def _step_snowdrift(self, state, acts, acting, here):
        cfg = self.config
        n = self.rules.num_players
        live = ~state.over
        groups = here & (acting & (acts == REMOVE))[..., None]
        count = groups.sum(1)
        removed = count > 0
        cost = np.where(groups, cfg.removal_cost / np.maximum(count, 1)[:, None, :], 0.0).sum(2)
        rewards = cfg.removal_reward * removed.sum(1, keepdims=True) - cost
        rewards = np.where(live[:, None], rewards, 0.0)
        if cfg.reward_mode == "prosocial":
            rewards = np.where(live[:, None], rewards.sum(1, keepdims=True) / n, 0.0)
        target = np.where(groups.any(2), groups.argmax(2), -1)
        state.object_alive &= ~removed
        self._finish_time(state, live, removed.any(1))
        cleared = live & ~state.object_alive.any(1)
        timeout = live & ~cleared & (state.t >= cfg.max_cycles)
        terminated = np.repeat(cleared[:, None], n, axis=1)
        truncated = np.repeat(timeout[:, None], n, axis=1)
        state.over |= cleared | timeout
        failed = np.zeros_like(acting)
        return rewards, terminated, truncated, target, failed, groups.any(2)
