"""Leaf evaluators that need no network: short rollouts with the modelled co-players.

:class:`RolloutEvaluator` gives uniform priors over the focal player's legal actions and
values from ``num_rollouts`` rollouts of at most ``depth`` steps per leaf, in which the
co-players act from the given :class:`~agents.hop.interfaces.CoplayerPolicy` (given their
goals when the planner supplies them) and the focal player follows a fixed rollout policy:

* ``"random"``: uniform over its legal actions;
* ``"greedy"``: the object action when one is legal on its cell (hunt the prey it stands on,
  remove the drift it stands on), otherwise one step along a shortest path (around walls)
  towards the nearest live object, ties broken at random;
* ``"best-kind"``: greedy rollouts that head only for objects of one kind (stag or hare;
  the snowdrift has one kind), run for every kind, and the leaf takes the value of the best
  kind. This lets short rollouts value a far stag next to a near hare. The max over noisy
  samples would be biased upwards (a lucky stag sample outbids a sure hare), so it uses the
  double estimator: ``num_rollouts`` rollouts per kind pick the kind, ``num_rollouts``
  independent ones value it. With a single kind (snowdrift) it is plain greedy.
* ``"best-option"``: greedy rollouts per object kind plus one more option, **waiting** (the
  focal player stays put and acts on nothing); the leaf takes the best option's value. Where
  acting costs something (a snowdrift removal), this lets the rollouts value leaving the work
  to co-players who are believed to do it; a greedy rollout policy always does the work
  itself, so it undervalues free-riding on cleaners. To keep its cost at ``num_rollouts`` per
  option it takes the plain maximum (no double estimator): slightly optimistic, and equally
  so at every leaf, since every leaf has the same options.

The value is the discounted sum of the focal player's rewards along the rollout, averaged
over rollouts. A rollout stops at a terminal (episode over, or the focal player has left)
and at ``depth`` steps; nothing is bootstrapped past either, so the value is a short-horizon
estimate. All rollouts of one call (one search round: every leaf of every tree) advance in
lock-step on the batched core (:class:`~hop_envs.core.BatchedGame`): one batched step, one
co-player policy call (``batch_action_probs`` when the policy has it, see
:class:`~agents.hop.interfaces.BatchedCoplayerPolicy`; otherwise scalar queries on rebuilt
states) and one vectorised focal action per rollout step. Leaves on different layouts are
rolled out in separate groups.

When the co-players answer from the own-cell fields of a
:class:`~agents.hop.coplayer_cache.CachedCoplayerPolicy` (the planning agents' default),
the steps run instead as one compiled loop (:mod:`agents.hop.compiled_rollouts`), which
returns to Python only for fields the cache has not computed yet and for redraws that are
not plain belief draws. It draws the same random numbers and computes the same values as
the numpy loop, so either gives the same decisions (``compiled=False`` keeps the numpy
loop, for comparison).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from agents.hop.compiled_rollouts import (
    DONE,
    FOCAL_GREEDY,
    FOCAL_RANDOM,
    NEED_FIELDS,
    REDRAW_BELIEFS,
    REDRAW_PYTHON,
    rollout_loop,
)
from agents.hop.coplayer_cache import CachedCoplayerPolicy
from agents.hop.goal_sampling import BeliefGoalSampler, SamplerRedraw
from agents.hop.interfaces import IDLE, NO_GOAL, CoplayerPolicy, Goal, PolicyQuery
from agents.hop.search_tree import Goals, Redraw
from agents.hop.stacked_states import StackedStates
from hop_envs.core import (
    NUM_MOVES,
    STAY,
    BatchedGame,
    BatchedState,
    GridLayout,
    GridRules,
    GridState,
    ObjectGoalSpace,
    all_pairs_distances,
)
from hop_envs.core.compiled import CompiledStep, StepTables

ROLLOUT_POLICIES = ("random", "greedy", "best-kind", "best-option")
#: The rollout option of ``"best-option"`` in which the focal player waits.
WAIT_OPTION = -1
#: The rollout option of ``"greedy"`` and ``"random"``: objects of any kind are targets.
ANY_KIND = -2
_UNREACHABLE = np.iinfo(np.int64).max


class RolloutEvaluator:
    """Uniform priors and short-rollout values; one RNG, seeded through :meth:`reset`."""

    def __init__(
        self,
        rules: GridRules,
        coplayer_policy: CoplayerPolicy,
        *,
        depth: int = 10,
        discount: float = 0.95,
        num_rollouts: int = 1,
        focal_policy: str = "random",
        seed: int | None = None,
        compiled: bool = True,
    ) -> None:
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 0:
            raise ValueError(f"RolloutEvaluator: depth must be an int >= 0, got {depth!r}")
        if isinstance(num_rollouts, bool) or not isinstance(num_rollouts, int) or num_rollouts < 1:
            raise ValueError(
                f"RolloutEvaluator: num_rollouts must be an int >= 1, got {num_rollouts!r}"
            )
        if not isinstance(discount, int | float) or not 0.0 <= float(discount) <= 1.0:
            raise ValueError(f"RolloutEvaluator: discount must be in [0, 1], got {discount!r}")
        if focal_policy not in ROLLOUT_POLICIES:
            raise ValueError(
                f"RolloutEvaluator: focal_policy must be one of {list(ROLLOUT_POLICIES)}, "
                f"got {focal_policy!r}"
            )
        self.rules = rules
        self.coplayer_policy = coplayer_policy
        self.depth = depth
        self.discount = float(discount)
        self.num_rollouts = num_rollouts
        self.focal_policy = focal_policy
        self.rng = np.random.default_rng(seed)
        self._game = BatchedGame(rules)
        # First legal object action per object kind (-1: none), for "act on what I stand on".
        self._object_action = np.asarray(
            [
                next(
                    (
                        a
                        for a in range(NUM_MOVES + 1, rules.num_actions)
                        if rules.object_action_legal(a, kind)
                    ),
                    -1,
                )
                for kind in range(len(rules.object_kinds))
            ],
            dtype=np.int64,
        )
        self._distances: tuple[GridLayout, np.ndarray, np.ndarray] | None = None
        self._tables: StepTables | None = None
        #: Whether rollouts whose co-players answer from own-cell fields run compiled
        #: (:mod:`agents.hop.compiled_rollouts`; the same numbers as the numpy loop).
        self.compiled = bool(compiled)

    def reset(self, seed: int | None = None) -> None:
        """Re-seed the rollout RNG."""
        self.rng = np.random.default_rng(seed)

    # -- LeafEvaluator ---------------------------------------------------------------------
    def evaluate(self, states: Sequence[GridState], player: int) -> tuple[np.ndarray, np.ndarray]:
        """Priors and values with goal-free co-player queries (``goal=None``)."""
        goals = [(None,) * self.rules.num_players for _ in states]
        return self.evaluate_with_goals(states, player, goals, _keep_goal)

    def priors(self, states: Sequence[GridState], player: int) -> np.ndarray:
        """Uniform priors over ``player``'s legal actions (no rollouts)."""
        masks = np.stack([self.rules.action_masks(s)[player] for s in states]).astype(np.float64)
        return masks / masks.sum(1, keepdims=True)

    def evaluate_with_goals(
        self,
        states: Sequence[GridState],
        player: int,
        goals: Sequence[Goals],
        redraw: Redraw,
    ) -> tuple[np.ndarray, np.ndarray]:
        """As :meth:`evaluate`, the co-players pursuing ``goals[i]`` from ``states[i]``;
        goals removed during a rollout are replaced by ``redraw``."""
        values = self.values_with_goals(states, player, goals, redraw)
        return self.priors(states, player), values

    def values_with_goals(
        self,
        states: Sequence[GridState],
        player: int,
        goals: Sequence[Goals],
        redraw: Redraw,
    ) -> np.ndarray:
        """The rollout values alone (as :meth:`evaluate_with_goals`, without priors)."""
        if len(goals) != len(states):
            raise ValueError(
                f"RolloutEvaluator: got {len(states)} states but {len(goals)} goal tuples"
            )
        return self._rollouts(states, player, goals, redraw)

    # -- rollouts --------------------------------------------------------------------------
    def _rollouts(
        self, states: Sequence[GridState], player: int, goals: Sequence[Goals], redraw: Redraw
    ) -> np.ndarray:
        """Values of ``states``, one batched rollout set per layout the states have."""
        values = np.zeros(len(states))
        groups: dict[int, list[int]] = {}
        for i, s in enumerate(states):
            groups.setdefault(id(s.layout), []).append(i)
        if len(groups) == 1 and isinstance(states, StackedStates):  # already stacked
            return self._rollout_group(states, player, goals, redraw, states.batch)
        for members in groups.values():
            values[members] = self._rollout_group(
                [states[i] for i in members], player, [goals[i] for i in members], redraw
            )
        return values

    def _rollout_group(
        self,
        states: Sequence[GridState],
        player: int,
        goals: Sequence[Goals],
        redraw: Redraw,
        stacked: BatchedState | None = None,
    ) -> np.ndarray:
        """Rollouts of states that share one layout, stepped together on the batched core
        (``stacked``: the states as one batch, if the caller has it)."""
        k = self.num_rollouts
        options: list[int] = [ANY_KIND]
        num_kinds = len(self.rules.object_kinds)
        double = self.focal_policy == "best-kind" and num_kinds > 1
        if double:
            options = list(range(num_kinds))
            k *= 2  # one half picks the kind, the other values it
        elif self.focal_policy == "best-option":
            options = [*range(num_kinds), WAIT_OPTION]
        per_state = k * len(options)
        layout = states[0].layout
        origin = np.repeat(np.arange(len(states)), per_state)
        batch = (BatchedState.stack(states) if stacked is None else stacked).take(origin)
        goal_rows = np.asarray(
            [[NO_GOAL if g is None else int(g) for g in row] for row in goals], dtype=np.int64
        ).reshape(len(states), self.rules.num_players)
        option = np.tile(np.asarray(options, dtype=np.int64), k * len(states))
        kinds = batch.object_kind[None, :]
        sims = _Sims(
            batch,
            goal_rows[origin],
            (option[:, None] == ANY_KIND) | (kinds == option[:, None]),
            np.arange(origin.size),
        )
        returns = np.zeros(origin.size)
        if not self._compiled_rollouts(batch, player, sims, returns, redraw, layout):
            self._numpy_rollouts(batch, player, sims, returns, redraw, layout)
        returns = returns.reshape(len(states), k, len(options))
        if self.focal_policy == "best-option":
            return returns.mean(1).max(1)
        if not double:
            return returns.mean(axis=(1, 2))
        half = k // 2
        best = returns[:, :half].mean(1).argmax(1)
        return returns[:, half:].mean(1)[np.arange(len(states)), best]

    def _numpy_rollouts(
        self,
        batch: BatchedState,
        player: int,
        sims: _Sims,
        returns: np.ndarray,
        redraw: Redraw,
        layout: GridLayout,
    ) -> None:
        """The rollouts stepped with numpy: every call sees the whole batch."""
        sims.keep(~batch.over & batch.active[:, player], compact=True)
        weight = 1.0
        n = self.rules.num_players
        others = np.arange(n) != player
        walker = None if self.focal_policy == "random" else self._walker(layout, batch.object_kind)
        for _ in range(self.depth):
            if sims.size == 0:
                break
            current = sims.batch
            joint = np.empty(current.player_pos.shape, dtype=np.int64)
            joint.fill(STAY)
            flat = (current.active & ~current.over[:, None] & others).reshape(-1).nonzero()[0]
            if flat.size:
                rows, seats = flat // n, flat % n
                joint[rows, seats] = self._sample(current, rows, seats, sims.goals, layout)
            joint[:, player] = self._focal_actions(current, player, sims.targets, walker)
            outcome = self._game.step(current, joint)
            returns[sims.index] += weight * outcome.rewards[:, player]
            weight *= self.discount
            on = ~current.over & current.active[:, player]
            changed = (on & (outcome.target >= 0).any(1)).nonzero()[0]
            if changed.size:
                self._redraw_removed(sims.batch, sims.goals, changed, redraw, layout)
            sims.keep(on)

    def _compiled_rollouts(
        self,
        batch: BatchedState,
        player: int,
        sims: _Sims,
        returns: np.ndarray,
        redraw: Redraw,
        layout: GridLayout,
    ) -> bool:
        """The rollouts run by :func:`~agents.hop.compiled_rollouts.rollout_loop`, with the
        same numbers as :meth:`_numpy_rollouts`; False (nothing done) unless the co-players
        answer from own-cell fields (:class:`CachedCoplayerPolicy`)."""
        cache = self.coplayer_policy
        if not self.compiled or not isinstance(cache, CachedCoplayerPolicy):
            return False
        if cache.mode != "own-cell":
            return False
        n = self.rules.num_players
        others = np.arange(n) != player
        running = ~batch.over & batch.active[:, player]
        rows, seats = np.nonzero(running[:, None] & batch.active & others)
        goals = sims.goals
        if rows.size and cache.field_positions(batch, rows, seats, goals[rows, seats]) is None:
            return False  # rows on different boards: no fields
        batch.over |= ~running
        in_batch = running.copy()
        greedy = self.focal_policy != "random"
        walker = self._walker(layout, batch.object_kind) if greedy else None
        empty = np.zeros((1, 1), dtype=np.int64)
        beliefs = _CompiledBeliefs.of(redraw, self.rules, batch, n)
        progress = np.zeros(1, dtype=np.int64)
        weight = np.ones(1)
        field_pos = np.zeros((batch.batch_size, n), dtype=np.int64)
        changed = np.zeros(batch.batch_size, dtype=bool)
        actions = np.zeros((batch.batch_size, n), dtype=np.int64)
        tables = self._compiled_tables(batch.object_kind)
        while True:
            status = rollout_loop(
                tables, player, self.depth, self.discount, batch.player_pos, batch.active,
                batch.object_pos, batch.object_alive, batch.cell_object, batch.cell_code,
                batch.move_bits, batch.t, batch.first_capture_t, batch.over, goals,
                sims.targets, running, in_batch, progress, weight, cache.field_keys,
                cache.fields, field_pos, cache.goal_radix, self.rng,
                FOCAL_GREEDY if greedy else FOCAL_RANDOM, walker.dist if walker else empty,
                walker.neighbors if walker else empty,
                walker.object_action if walker else empty[0], beliefs.mode, beliefs.rng,
                beliefs.object_goal, beliefs.goals, beliefs.weights, beliefs.count, returns,
                changed, actions,
            )  # fmt: skip
            if status == DONE:
                return True
            if status == NEED_FIELDS:
                rows, seats = np.nonzero(running[:, None] & batch.active & others)
                if cache.field_positions(batch, rows, seats, goals[rows, seats]) is None:
                    raise RuntimeError("the co-player cache stopped answering from fields")
            else:  # NEED_REDRAW
                self._redraw_removed(batch, goals, changed.nonzero()[0], redraw, layout)

    def _compiled_tables(self, object_kind: np.ndarray) -> StepTables:
        """The compiled step's tables for this evaluator's game (object kinds fixed)."""
        cached = self._tables
        if cached is None or not np.array_equal(cached.object_kind, object_kind):
            cached = self._tables = CompiledStep(self._game, object_kind).tables
        return cached

    def _sample(
        self,
        batch: BatchedState,
        rows: np.ndarray,
        seats: np.ndarray,
        goals: np.ndarray,
        layout: GridLayout,
    ) -> np.ndarray:
        """One action per (row, seat) drawn from the co-player policy."""
        policy = self.coplayer_policy
        goal_of = goals[rows, seats]
        if hasattr(policy, "batch_action_probs"):
            probs = policy.batch_action_probs(batch, rows, seats, goal_of)
        else:
            queries = [
                PolicyQuery(batch.state_at(r, layout), s, None if g == NO_GOAL else g)
                for r, s, g in zip(rows.tolist(), seats.tolist(), goal_of.tolist(), strict=True)
            ]
            probs = policy.action_probs(queries)
        probs = np.asarray(probs, dtype=np.float64)
        if probs.shape != (rows.size, self.rules.num_actions):
            raise ValueError(
                f"{type(policy).__name__}.action_probs must return shape "
                f"{(rows.size, self.rules.num_actions)}, got {probs.shape}"
            )
        cdf = np.cumsum(probs, axis=1)
        x = self.rng.random(rows.size) * cdf[:, -1]
        return np.minimum((cdf <= x[:, None]).sum(1), self.rules.num_actions - 1)

    def _redraw_removed(
        self,
        batch: BatchedState,
        all_goals: np.ndarray,
        changed: np.ndarray,
        redraw: Redraw,
        layout: GridLayout,
    ) -> None:
        """Replace in ``all_goals`` the goals of the rows ``changed`` of ``batch`` whose
        object was just captured or removed (in row, then seat order)."""
        goals = all_goals[changed]
        pursued = (goals != NO_GOAL) & (goals != IDLE) & batch.active[changed]
        rows, seats = np.nonzero(pursued)
        if rows.size == 0:
            return
        entries = changed[rows]
        exists = self.rules.goals.exists_batch(
            batch.object_pos[entries],
            batch.object_alive[entries],
            batch.object_kind,
            goals[rows, seats],
        )
        for entry, seat in zip(entries[~exists].tolist(), seats[~exists].tolist(), strict=True):
            all_goals[entry, seat] = int(redraw(batch.state_at(entry, layout), seat))

    def _focal_actions(
        self, batch: BatchedState, player: int, kinds: np.ndarray, walker: _Walker | None
    ) -> np.ndarray:
        """The focal player's rollout action in every entry (module docstring); ``kinds``
        ``(B, m)`` marks the objects each entry's option heads for; ``walker`` is None for
        the random policy."""
        if walker is None:
            legal = self._game.action_masks(batch)[:, player].astype(bool)
            u = np.where(legal, self.rng.random(legal.shape), -1.0)
            return u.argmax(1)
        dist = walker.dist
        cell = batch.player_pos[:, player]
        targets = batch.object_alive & kinds
        # Move counts to every object (0: the player stands on it; -1: unreachable).
        d = dist[cell[:, None], batch.object_pos]
        # On a target with a legal object action: take the first such action.
        on = targets & (d == 0)
        actions = np.where(on.any(1), walker.object_action.take(on.argmax(1)), -1)
        acting = actions >= 0
        # Otherwise one step along a shortest path to the nearest target (first in object
        # order among the nearest), ties between moves broken at random.
        far = np.where(targets & (d > 0), d, _UNREACHABLE)
        target = far.argmin(1)
        best = far.min(1)
        walk = (~acting & (best < _UNREACHABLE)).nonzero()[0]
        actions[~acting] = STAY
        if walk.size:
            goal_cell = batch.object_pos[walk, target[walk]]
            nxt = walker.neighbors[cell[walk]]
            ok = (nxt >= 0) & (dist[nxt, goal_cell[:, None]] == best[walk][:, None] - 1)
            u = np.where(ok, self.rng.random(ok.shape), -1.0)
            actions[walk] = u.argmax(1)
        return actions

    def _walker(self, layout: GridLayout, object_kind: np.ndarray) -> _Walker:
        """What the greedy focal policy reads on ``layout``: its distances and moves, and
        the first legal object action on each object (-1: none)."""
        dist, neighbors = self._distance_table(layout)
        return _Walker(dist, neighbors, self._object_action.take(object_kind))

    def _distance_table(self, layout: GridLayout) -> tuple[np.ndarray, np.ndarray]:
        """All-pairs shortest-path move counts of ``layout`` (-1: unreachable) and its move
        table, cached for the most recent walls (states rebuilt from observations get new
        layout objects for the same walls)."""
        cached = self._distances
        if cached is None or (
            cached[0] is not layout and not np.array_equal(cached[0].walls, layout.walls)
        ):
            dist = all_pairs_distances(layout.neighbors)
            cached = (layout, dist, layout.neighbors.astype(np.int64))
            self._distances = cached
        return cached[1], cached[2]


class _Walker(NamedTuple):
    """A layout's move counts ``(cells, cells)``, its move table ``(cells, moves)`` and the
    first legal object action on each object ``(m,)``."""

    dist: np.ndarray
    neighbors: np.ndarray
    object_action: np.ndarray


class _Sims:
    """The rollouts still running: their batch, goals, target kinds and original index.

    Rollouts that end stay in the batch, finished (``over``), until a quarter of the rows
    are done; then the batch is compacted (fewer, larger numpy calls than compacting at
    every step).
    """

    __slots__ = ("batch", "goals", "index", "targets")

    def __init__(
        self, batch: BatchedState, goals: np.ndarray, targets: np.ndarray, index: np.ndarray
    ) -> None:
        self.batch, self.goals, self.targets, self.index = batch, goals, targets, index

    @property
    def size(self) -> int:
        return int(self.index.size)

    def keep(self, running: np.ndarray, *, compact: bool = False) -> None:
        """Keep the ``running`` rows: mark the others finished, compact when worth it."""
        if running.all():
            return
        if not running.any():
            self.index = self.index[:0]
            return
        if compact or 4 * int(running.sum()) <= 3 * running.size:
            rows = np.flatnonzero(running)
            self.batch = self.batch.take(rows)
            self.goals, self.targets = self.goals[rows], self.targets[rows]
            self.index = self.index[rows]
        else:
            self.batch.over |= ~running


def _keep_goal(state: GridState, player: int) -> Goal:
    """Redraw for goal-free queries: never called, since ``None`` goals are never removed."""
    raise AssertionError("goal-free rollouts never redraw a goal")


class _CompiledBeliefs(NamedTuple):
    """What :func:`~agents.hop.compiled_rollouts.rollout_loop` reads to redraw goals itself:
    the redraw mode, the search's Generator, each object's goal and each seat's belief
    (goals and weights padded to one width; count -1: no belief)."""

    mode: int
    rng: np.random.Generator
    object_goal: np.ndarray
    goals: np.ndarray
    weights: np.ndarray
    count: np.ndarray

    @classmethod
    def of(cls, redraw: Redraw, rules: GridRules, batch: BatchedState, n: int) -> _CompiledBeliefs:
        """Compiled redraws for a :class:`SamplerRedraw` of a :class:`BeliefGoalSampler`
        over object goals (their goals never change within a batch of one board); Python
        redraws (``REDRAW_PYTHON``) for anything else."""
        space = rules.goals
        sampler = getattr(redraw, "sampler", None)
        if (
            not isinstance(redraw, SamplerRedraw)
            or not isinstance(sampler, BeliefGoalSampler)
            or not isinstance(space, ObjectGoalSpace)
            or not batch.shared_board
        ):
            return cls(
                REDRAW_PYTHON,
                np.random.default_rng(0),  # never drawn from
                np.zeros(1, dtype=np.int64),
                np.zeros((n, 1), dtype=np.int64),
                np.zeros((n, 1)),
                np.full(n, -1, dtype=np.int64),
            )
        width = max([1, *(len(goals) for goals, _ in sampler.beliefs.values())])
        goals = np.zeros((n, width), dtype=np.int64)
        weights = np.zeros((n, width))
        count = np.full(n, -1, dtype=np.int64)
        for seat, (seat_goals, seat_weights) in sampler.beliefs.items():
            if 0 <= seat < n:
                count[seat] = len(seat_goals)
                goals[seat, : len(seat_goals)] = seat_goals
                weights[seat, : len(seat_goals)] = seat_weights
        object_goal = np.asarray(
            space.object_goals(batch.object_pos[0], batch.object_kind), dtype=np.int64
        )
        return cls(REDRAW_BELIEFS, redraw.rng, object_goal, goals, weights, count)
