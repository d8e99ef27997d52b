""":class:`~agents.hop.evaluators.RolloutEvaluator`'s batched rollouts as one compiled loop.

The numpy rollout loop pays a few dozen array calls per step whatever the batch holds, and a
decision runs about a hundred such steps. :func:`rollout_loop` runs the steps of a whole
rollout batch in compiled code: each running rollout's co-players draw their actions from
the own-cell fields of :class:`~agents.hop.coplayer_cache.CachedCoplayerPolicy`, the focal
player takes its rollout action, the entry is stepped with
:func:`hop_envs.core.compiled.step_entry`, and the goals of co-players whose object was
captured or removed are redrawn from the search's beliefs. It returns to Python only for what
needs Python: a field the table does not hold yet (the opponent model computes it), and a
redraw that is not a plain draw from :class:`~agents.hop.goal_sampling.BeliefGoalSampler`
beliefs over object goals.

It draws the same random numbers in the same order as the numpy loop and computes the same
floating-point values, so a search gives the same decisions either way
(``tests/agents/hop/test_compiled_rollouts.py`` compares them). Per step: the co-players'
uniforms (rollout Generator), one per acting co-player of each running rollout in row
order; then the focal player's (the greedy policy: four per rollout that walks, for its
tie-break between moves; the random policy: one per action for every rollout still in the
numpy loop's batch, which keeps finished rollouts until a quarter of its rows are done,
``in_batch``); then the redraws (the search's Generator), in row and seat order.
"""

from __future__ import annotations

import numba
import numpy as np

from agents.hop.interfaces import IDLE, NO_GOAL
from hop_envs.core import NUM_MOVES, STAY
from hop_envs.core.compiled import LEFT_CODE, step_entry

__all__ = [
    "DONE",
    "FOCAL_GREEDY",
    "FOCAL_RANDOM",
    "NEED_FIELDS",
    "NEED_REDRAW",
    "REDRAW_BELIEFS",
    "REDRAW_PYTHON",
    "rollout_loop",
]

FOCAL_RANDOM, FOCAL_GREEDY = 0, 1
REDRAW_PYTHON, REDRAW_BELIEFS = 0, 1
#: What :func:`rollout_loop` returns: finished; stopped before a step whose co-players need
#: fields the table lacks (nothing of that step done); stopped after a step whose removed
#: goals Python must redraw (rows ``changed``).
DONE, NEED_FIELDS, NEED_REDRAW = 0, 1, 2
_UNREACHABLE = np.iinfo(np.int64).max


@numba.njit(cache=True)
def rollout_loop(
    tables, player, depth, discount, player_pos, active, object_pos, object_alive,
    cell_object, cell_code, move_bits, t, first_capture_t, over, goals, targets, running,
    in_batch, progress, weight, field_keys, fields, field_pos, goal_radix, rng, focal_mode,
    dist, neighbors, object_action, redraw_mode, redraw_rng,
    object_goal, belief_goals, belief_weights, belief_count, returns, changed, actions,
):  # fmt: skip
    """Run rollout steps from step ``progress[0]`` until ``depth``, updating the batch
    arrays, ``goals``, ``running``, ``in_batch``, ``returns``, ``progress[0]`` and
    ``weight[0]`` (the discount of the next step's reward) in place; return :data:`DONE`,
    :data:`NEED_FIELDS` or :data:`NEED_REDRAW` (module docstring).

    A rollout whose focal player is done (episode over, or it left) stops running and is
    marked over. ``field_keys``/``fields``: the cache's sorted keys and own-cell fields;
    ``goal_radix``: its key radix. ``object_goal[k]``: the goal object ``k`` stands for;
    ``belief_goals[j, :belief_count[j]]`` and ``belief_weights``: co-player ``j``'s belief
    (``belief_count[j]`` -1: none), read when ``redraw_mode`` is :data:`REDRAW_BELIEFS`."""
    size, n = player_pos.shape
    m = object_alive.shape[1]
    num_actions = fields.shape[2]
    rewards = np.zeros(n)
    target = np.empty(n, dtype=np.int64)
    while progress[0] < depth:
        in_count = 0
        for b in range(size):
            if in_batch[b]:
                in_count += 1
        if in_count == 0:
            return DONE
        # The co-players' fields; stop before drawing anything if one is missing.
        for b in range(size):
            if not running[b]:
                continue
            bits = 0
            for k in range(m):
                if object_alive[b, k]:
                    bits += 1 << k
            for j in range(n):
                if j == player or not active[b, j]:
                    continue
                code = goals[b, j] - NO_GOAL
                if code < 0 or code >= goal_radix:
                    return NEED_FIELDS  # Python's cache raises the error
                key = bits * goal_radix + code
                pos = np.searchsorted(field_keys, key)
                if pos >= field_keys.size or field_keys[pos] != key:
                    return NEED_FIELDS
                field_pos[b, j] = pos
        for b in range(size):
            if not running[b]:
                continue
            for j in range(n):
                actions[b, j] = STAY
                if j == player or not active[b, j]:
                    continue
                probs = fields[field_pos[b, j], player_pos[b, j]]
                total = 0.0
                for a in range(num_actions):
                    total += probs[a]
                x = rng.random() * total
                chosen = 0
                cdf = 0.0
                for a in range(num_actions):
                    cdf += probs[a]
                    if cdf <= x:
                        chosen += 1
                actions[b, j] = min(chosen, num_actions - 1)
        for b in range(size):
            if not in_batch[b]:
                continue
            if focal_mode == FOCAL_RANDOM:
                actions[b, player] = _random_action(
                    b, player, player_pos, active, over, cell_code, tables.mask_lut,
                    tables.ints[LEFT_CODE], rng,
                )  # fmt: skip
            else:
                actions[b, player] = _greedy_action(
                    b, player, player_pos, object_pos, object_alive, targets, dist, neighbors,
                    object_action, rng,
                )  # fmt: skip
        any_changed = False
        still = 0
        for b in range(size):
            changed[b] = False
            if not running[b]:
                continue
            rewards[:] = 0.0
            target[:] = -1
            step_entry(
                tables, b, player_pos, active, object_pos, object_alive, cell_object, cell_code,
                move_bits, t, first_capture_t, over, actions[b], rewards, target,
            )  # fmt: skip
            returns[b] += weight[0] * rewards[player]
            if over[b] or not active[b, player]:
                running[b] = False
                over[b] = True
                continue
            still += 1
            for j in range(n):
                if target[j] >= 0:
                    changed[b] = True
                    any_changed = True
                    break
        weight[0] *= discount
        # The numpy loop's batch: finished rows stay until a quarter of them are done.
        if still == 0:
            in_batch[:] = False
        elif still < in_count and 4 * still <= 3 * in_count:
            for b in range(size):
                in_batch[b] = running[b]
        progress[0] += 1
        if any_changed:
            compiled = redraw_mode == REDRAW_BELIEFS and _belief_redraws(
                player, active, object_alive, goals, changed, object_goal, belief_goals,
                belief_weights, belief_count, redraw_rng,
            )  # fmt: skip
            if not compiled:
                return NEED_REDRAW
    return DONE


@numba.njit(cache=True)
def _exists(b, goal, object_alive, object_goal):
    """Whether ``goal`` exists in entry ``b``: IDLE, or a live object stands for it."""
    if goal == IDLE:
        return True
    for k in range(object_goal.size):  # noqa: SIM110 (a plain loop compiles in numba)
        if object_alive[b, k] and object_goal[k] == goal:
            return True
    return False


@numba.njit(cache=True)
def _gone(b, j, goals, active, object_alive, object_goal):
    """Whether co-player ``j`` of entry ``b`` is still in the game and pursued a goal that
    no longer exists (so it must be redrawn)."""
    g = goals[b, j]
    if g in (NO_GOAL, IDLE) or not active[b, j]:
        return False
    return not _exists(b, g, object_alive, object_goal)


@numba.njit(cache=True)
def _belief_redraws(
    player, active, object_alive, goals, changed, object_goal, belief_goals, belief_weights,
    belief_count, rng,
):  # fmt: skip
    """Redraw, as :class:`~agents.hop.goal_sampling.BeliefGoalSampler` does, every goal of
    the ``changed`` rows that no longer exists; False (nothing drawn) when one of them would
    need the sampler's uniform fallback (no belief, or no weight on any goal that exists),
    which Python then does for the whole step."""
    size, n = goals.shape
    for drawing in (False, True):  # first check that no fallback is needed, then draw
        for b in range(size):
            if not changed[b]:
                continue
            for j in range(n):
                if not _gone(b, j, goals, active, object_alive, object_goal):
                    continue
                count = belief_count[j]
                if count <= 0:
                    return False
                cdf = _belief_cdf(b, j, count, object_alive, object_goal, belief_goals,
                                  belief_weights)  # fmt: skip
                if cdf[count - 1] <= 0.0:
                    return False
                if not drawing:
                    continue
                x = rng.random() * cdf[count - 1]
                index = 0
                for i in range(count):
                    if cdf[i] <= x:
                        index += 1
                if index >= count:
                    raise IndexError("belief redraw: the draw fell past the last goal")
                goals[b, j] = belief_goals[j, index]
    return True


@numba.njit(cache=True)
def _belief_cdf(b, j, count, object_alive, object_goal, belief_goals, belief_weights):
    """The cumulative weights of co-player ``j``'s belief over the goals that exist in entry
    ``b`` (others weigh 0), summed as ``np.cumsum`` does."""
    cdf = np.zeros(count)
    for i in range(count):
        w = 0.0
        if _exists(b, belief_goals[j, i], object_alive, object_goal):
            w = belief_weights[j, i]
        cdf[i] = w if i == 0 else cdf[i - 1] + w
    return cdf


@numba.njit(cache=True)
def _random_action(b, player, player_pos, active, over, cell_code, mask_lut, left_code, rng):
    """Uniform over the legal actions: argmax of a uniform per legal action (-1 for the
    others), as the numpy loop draws it."""
    code = left_code
    if active[b, player] and not over[b]:
        code = cell_code[b, player_pos[b, player]]
    best, chosen = -2.0, 0
    for a in range(mask_lut.shape[1]):
        u = rng.random()
        if mask_lut[code, a] == 0:
            u = -1.0
        if u > best:
            best, chosen = u, a
    return chosen


@numba.njit(cache=True)
def _greedy_action(
    b, player, player_pos, object_pos, object_alive, targets, dist, neighbors, object_action,
    rng,
):  # fmt: skip
    """The object action on a target the player stands on, else a step along a shortest
    path to the nearest target (the first in object order), ties between moves at random;
    STAY when no target is reachable."""
    cell = player_pos[b, player]
    on_first = -1
    best = _UNREACHABLE
    nearest = -1
    for k in range(object_pos.shape[1]):
        if not (object_alive[b, k] and targets[b, k]):
            continue
        d = dist[cell, object_pos[b, k]]
        if d == 0 and on_first < 0:
            on_first = k
        if d > 0 and d < best:
            best, nearest = d, k
    if on_first >= 0 and object_action[on_first] >= 0:
        return object_action[on_first]
    if nearest < 0:
        return STAY
    goal_cell = object_pos[b, nearest]
    top, chosen = -2.0, 0
    for move in range(NUM_MOVES):
        u = rng.random()
        nxt = neighbors[cell, move]
        if not (nxt >= 0 and dist[nxt, goal_cell] == best - 1):
            u = -1.0
        if u > top:
            top, chosen = u, move
    return chosen
