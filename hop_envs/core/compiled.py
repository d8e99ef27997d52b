"""The batched core's step compiled with numba, one entry at a time, for loops that live in
compiled code (the planner's rollouts).

:class:`BatchedGame` steps a whole batch with a few dozen numpy calls; that fixed cost is
paid at every step, whatever the batch size. A compiled loop that steps one entry after
another in plain code pays none of it. :func:`step_entry` is that step: it reads the same
look-up tables as :class:`BatchedGame` (:class:`StepTables`, built from one) and follows its
rules exactly, floating-point operations in the same order, so rewards, positions, captures
and episode ends agree bit for bit (``tests/envs/test_compiled_step.py`` steps both side by
side). It is an ``njit`` function meant to be called from other compiled code;
:meth:`CompiledStep.step` runs it over a batch from Python.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

from hop_envs.core.batched import BatchedGame, BatchedState
from hop_envs.core.stag_hunt import STAG, StagHuntRules

__all__ = [
    "GAME_SNOWDRIFT",
    "GAME_STAG_HUNT",
    "LEFT_CODE",
    "CompiledStep",
    "StepTables",
    "step_entry",
]

GAME_STAG_HUNT, GAME_SNOWDRIFT = 0, 1
#: Index in :attr:`StepTables.ints` of the cell code of a player who has left.
LEFT_CODE = 8
_NO_LIMIT = -1


class StepTables(NamedTuple):
    """What :func:`step_entry` reads: :class:`BatchedGame`'s tables and the game's numbers.

    ``ints``: game (:data:`GAME_STAG_HUNT` or :data:`GAME_SNOWDRIFT`), players, number of
    cell codes, stag hunters required, ``max_cycles``, ``end_after_first_hunt`` (-1: none),
    prosocial rewards (0/1), equal strengths (0/1), and the cell code of a player who has
    left (:data:`LEFT_CODE`, the row of ``mask_lut`` that allows only stay). ``floats``: stag
    reward, hare reward, time reward, removal reward, removal cost. ``mask_lut``: the action
    mask of each cell code, as :meth:`BatchedGame.action_masks` reads it."""

    step_delta: np.ndarray  # int64, (num_actions + 1) * num_codes
    step_illegal: np.ndarray  # bool, same
    step_object: np.ndarray  # bool, same
    object_kind: np.ndarray  # int64 (m,)
    strength: np.ndarray  # float64 (n,) or (1,)
    hunt_won: np.ndarray  # bool, kind * (n + 1) + hunters
    hunt_share: np.ndarray  # float64, same
    ints: np.ndarray  # int64 (9,)
    floats: np.ndarray  # float64 (5,)
    mask_lut: np.ndarray  # int8 (num_codes + 1, num_actions)


class CompiledStep:
    """:class:`StepTables` of one game and a Python entry point to :func:`step_entry`."""

    def __init__(self, game: BatchedGame, object_kind: np.ndarray) -> None:
        rules, cfg = game.rules, game.config
        stag = isinstance(rules, StagHuntRules)
        n = rules.num_players
        limit = getattr(cfg, "end_after_first_hunt", None)
        ints = np.asarray(
            [
                GAME_STAG_HUNT if stag else GAME_SNOWDRIFT,
                n,
                game._num_codes,
                getattr(cfg, "stag_hunters_required", 0),
                cfg.max_cycles,
                _NO_LIMIT if limit is None else limit,
                int(cfg.reward_mode == "prosocial"),
                int(game._equal_strength),
                game._left_code,
            ],
            dtype=np.int64,
        )
        floats = np.asarray(
            [
                getattr(cfg, "stag_reward", 0.0),
                getattr(cfg, "hare_reward", 0.0),
                getattr(cfg, "time_reward", 0.0),
                getattr(cfg, "removal_reward", 0.0),
                getattr(cfg, "removal_cost", 0.0),
            ],
            dtype=np.float64,
        )
        empty_bool, empty_float = np.zeros(1, dtype=bool), np.zeros(1)
        self.tables = StepTables(
            step_delta=np.ascontiguousarray(game._step_delta, dtype=np.int64),
            step_illegal=np.ascontiguousarray(game._step_illegal, dtype=bool),
            step_object=np.ascontiguousarray(game._step_object, dtype=bool),
            object_kind=np.ascontiguousarray(object_kind, dtype=np.int64),
            strength=np.ascontiguousarray(game._strength, dtype=np.float64),
            hunt_won=np.ascontiguousarray(getattr(game, "_hunt_won", empty_bool), dtype=bool),
            hunt_share=np.ascontiguousarray(
                getattr(game, "_hunt_share", empty_float), dtype=np.float64
            ),
            ints=ints,
            floats=floats,
            mask_lut=np.ascontiguousarray(game._mask_lut, dtype=np.int8),
        )

    def step(self, state: BatchedState, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Advance every unfinished entry of ``state`` in place by ``actions`` ``(B, n)``, as
        :meth:`BatchedGame.step` does; return the rewards ``(B, n)`` and the object each
        player captured or removed ``(B, n)`` (-1: none)."""
        acts = np.ascontiguousarray(actions, dtype=np.int64)
        if acts.shape != state.player_pos.shape:
            raise ValueError(
                f"actions must have shape {state.player_pos.shape} (batch, players), "
                f"got {acts.shape}"
            )
        rewards = np.zeros(acts.shape)
        target = np.full(acts.shape, -1, dtype=np.int64)
        _step_all(
            self.tables,
            state.player_pos,
            state.active,
            state.object_pos,
            state.object_alive,
            state.cell_object,
            state.cell_code,
            state.move_bits,
            state.t,
            state.first_capture_t,
            state.over,
            acts,
            rewards,
            target,
        )
        return rewards, target


@numba.njit(cache=True)
def _step_all(
    tables, player_pos, active, object_pos, object_alive, cell_object, cell_code, move_bits,
    t, first_capture_t, over, actions, rewards, target,
):  # fmt: skip
    for b in range(player_pos.shape[0]):
        step_entry(
            tables, b, player_pos, active, object_pos, object_alive, cell_object, cell_code,
            move_bits, t, first_capture_t, over, actions[b], rewards[b], target[b],
        )  # fmt: skip


@numba.njit(cache=True)
def step_entry(
    tables, b, player_pos, active, object_pos, object_alive, cell_object, cell_code, move_bits,
    t, first_capture_t, over, actions, rewards, target,
):  # fmt: skip
    """Step entry ``b`` of the batch arrays in place by ``actions`` ``(n,)``; write the
    entry's rewards and captured objects (-1: none) into ``rewards`` and ``target``
    ``(n,)``, which must hold 0.0 and -1 on entry. A finished entry is left as it is."""
    if over[b]:
        return
    ints = tables.ints
    n, num_codes = ints[1], ints[2]
    delta, obj_table = tables.step_delta, tables.step_object
    last = delta.size - 1
    acting = np.empty(n, dtype=np.bool_)
    taken = np.full(n, -1, dtype=np.int64)  # the object a legal object action is on
    for j in range(n):
        acting[j] = active[b, j]
        code = 0
        if acting[j]:
            code = actions[j] * num_codes + cell_code[b, player_pos[b, j]]
            code = min(max(code, 0), last)  # numpy's mode="clip"
        if obj_table[code]:
            taken[j] = cell_object[b, player_pos[b, j]]
        player_pos[b, j] += delta[code]
    if ints[0] == GAME_STAG_HUNT:
        _hunts(tables, b, n, acting, taken, active, object_pos, object_alive, cell_object,
               cell_code, move_bits, t, first_capture_t, over, rewards, target)  # fmt: skip
    else:
        _removals(tables, b, n, taken, object_pos, object_alive, cell_object, cell_code,
                  move_bits, t, first_capture_t, over, rewards, target)  # fmt: skip


@numba.njit(cache=True)
def _numpy_sum(values, n):
    """``values[:n].sum()`` as numpy adds it (0.0 plus the pairwise sum, which starts from
    -0.0 and keeps eight partial sums from eight terms on), so prosocial rewards agree to
    the last bit; ``n`` <= 128."""
    if n < 8:
        total = -0.0
        for i in range(n):
            total += values[i]
        return 0.0 + total
    r = values[:8].copy()
    i = 8
    while i < n - n % 8:
        for k in range(8):
            r[k] += values[i + k]
        i += 8
    total = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
    while i < n:
        total += values[i]
        i += 1
    return 0.0 + total


@numba.njit(cache=True)
def _none_alive(b, object_alive):
    """Whether entry ``b`` has no live object left."""
    for k in range(object_alive.shape[1]):  # noqa: SIM110 (a plain loop compiles in numba)
        if object_alive[b, k]:
            return False
    return True


@numba.njit(cache=True, inline="always")
def _remove(b, obj, object_pos, object_alive, cell_object, cell_code, move_bits):
    object_alive[b, obj] = False
    cell = object_pos[b, obj]
    cell_object[b, cell] = -1
    cell_code[b, cell] = move_bits[b, cell]


@numba.njit(cache=True)
def _hunts(
    tables, b, n, acting, taken, active, object_pos, object_alive, cell_object, cell_code,
    move_bits, t, first_capture_t, over, rewards, target,
):  # fmt: skip
    ints, floats = tables.ints, tables.floats
    required, equal = ints[3], ints[7] == 1
    stag_reward, hare_reward, time_reward = floats[0], floats[1], floats[2]
    won = np.zeros(n, dtype=np.bool_)
    captured = False
    for j in range(n):
        obj = taken[j]
        if obj < 0:
            continue
        count = 0
        weight = 0.0
        for k in range(n):
            if taken[k] == obj:
                count += 1
                weight += tables.strength[k] if not equal else 0.0
        kind = tables.object_kind[obj]
        if equal:
            index = kind * (n + 1) + count
            won[j] = tables.hunt_won[index]
            share = tables.hunt_share[index]
        else:
            is_stag = kind == STAG
            won[j] = (not is_stag) or count >= required
            share = stag_reward * tables.strength[j] / weight if is_stag else hare_reward / count
        if won[j]:
            rewards[j] = share
            target[j] = obj
            captured = True
    for j in range(n):
        if won[j]:
            active[b, j] = False
            _remove(b, taken[j], object_pos, object_alive, cell_object, cell_code, move_bits)
    if time_reward != 0.0:
        for j in range(n):
            rewards[j] = rewards[j] + time_reward * (1.0 if acting[j] else 0.0)
    if ints[6] == 1:  # prosocial
        total = _numpy_sum(rewards, n)
        for j in range(n):
            rewards[j] = total / n if acting[j] else 0.0
    t[b] += 1
    if captured and first_capture_t[b] < 0:
        first_capture_t[b] = t[b]
    no_prey = _none_alive(b, object_alive)
    if no_prey:
        for j in range(n):
            active[b, j] = False
    timeout = t[b] >= ints[4]
    limit = ints[5]
    if limit >= 0 and first_capture_t[b] >= 0 and t[b] - first_capture_t[b] >= limit:
        timeout = True
    anyone = False
    for j in range(n):
        if active[b, j]:
            anyone = True
            break
    if (not anyone) or (timeout and not no_prey):
        over[b] = True


@numba.njit(cache=True)
def _removals(
    tables, b, n, taken, object_pos, object_alive, cell_object, cell_code, move_bits,
    t, first_capture_t, over, rewards, target,
):  # fmt: skip
    ints, floats = tables.ints, tables.floats
    removal_reward, removal_cost = floats[3], floats[4]
    nothing = removal_reward * 0 - 0.0
    for j in range(n):
        rewards[j] = nothing
    removed = 0
    for j in range(n):
        obj = taken[j]
        if obj < 0:
            continue
        first = True
        for k in range(j):
            if taken[k] == obj:
                first = False
                break
        if first:
            removed += 1
    if removed:
        for j in range(n):
            rewards[j] = removal_reward * removed
        for j in range(n):
            obj = taken[j]
            if obj < 0:
                continue
            count = 0
            for k in range(n):
                if taken[k] == obj:
                    count += 1
            rewards[j] -= removal_cost / count
            target[j] = obj
        for j in range(n):
            if taken[j] >= 0:
                _remove(b, taken[j], object_pos, object_alive, cell_object, cell_code, move_bits)
    if ints[6] == 1:  # prosocial: every player gets the mean
        total = _numpy_sum(rewards, n)
        for j in range(n):
            rewards[j] = total / n
    t[b] += 1
    if removed and first_capture_t[b] < 0:
        first_capture_t[b] = t[b]
    cleared = _none_alive(b, object_alive)
    if cleared or t[b] >= ints[4]:
        over[b] = True
