"""Adapters that let the planner query the learned networks through the HOP contracts.

:class:`LearnedCoplayerPolicy` answers :class:`~agents.hop.interfaces.CoplayerPolicy` with an
opponent model, :class:`NetworkEvaluator` answers
:class:`~agents.hop.interfaces.LeafEvaluator` with the focal net. Each call is one batched
forward pass with numpy-built features: the opponent model's under
``torch.inference_mode()``, except the own-cell cache's fields
(:meth:`LearnedCoplayerPolicy.field_action_probs`), which are computed incrementally by
:mod:`agents.hop.incremental_fields`; the focal net's compiled
(:mod:`agents.hop.compiled_networks`). Both equal the network's own forward pass up to
float32 rounding.

``IDLE`` (a co-player that pursues no goal any more) is a trained goal in both games: the
hindsight labels give it to every step after a co-player's last capture or removal, and to
every step of a stag-hunt co-player that ended its episode without a capture
(:mod:`agents.hop.goals`), so an idle query goes through the model like any other.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from agents.hop.batched_features import BatchedFeatureBuilder
from agents.hop.compiled_networks import CompiledFocalNet, softmax_probabilities
from agents.hop.coplayer_cache import spread_over_cells
from agents.hop.features import FeatureBuilder, Features
from agents.hop.incremental_fields import IncrementalFieldModel
from agents.hop.interfaces import NO_GOAL, PolicyQuery
from agents.hop.networks import GOAL_OM, ActionModel, FocalNet, GoalOpponentModel
from agents.hop.stacked_states import StackedStates
from hop_envs.core import BatchedGame, BatchedState, GridRules, GridState

__all__ = ["LearnedCoplayerPolicy", "NetworkEvaluator"]


class LearnedCoplayerPolicy:
    """Co-player action distributions from a goal-conditioned model (queries must carry a
    goal) or a goal-free action model (goals, if any, are ignored: direct-OM)."""

    def __init__(self, model: GoalOpponentModel | ActionModel, rules: GridRules) -> None:
        if not isinstance(model, GoalOpponentModel | ActionModel):
            raise TypeError(
                "LearnedCoplayerPolicy: model must be a GoalOpponentModel or ActionModel, "
                f"got {type(model).__name__}"
            )
        model.config.check_rules(rules)
        self.model = model
        self.rules = rules
        self.features = FeatureBuilder(rules)
        self.goal_conditioned = model.config.kind == GOAL_OM
        self._batched: BatchedFeatureBuilder | None = None
        #: Computes :meth:`field_action_probs` (:mod:`agents.hop.incremental_fields`).
        self.field_model = IncrementalFieldModel(model)

    def action_probs(self, queries: Sequence[PolicyQuery]) -> np.ndarray:
        """``(len(queries), num_actions)`` float64 rows summing to 1, exactly 0 where masked."""
        if len(queries) == 0:
            return np.zeros((0, self.rules.num_actions), dtype=np.float64)
        states = [q.state for q in queries]
        players = [q.player for q in queries]
        goals = None
        if self.goal_conditioned:
            goals = [q.goal for q in queries]
            if None in goals:
                k = goals.index(None)
                raise ValueError(
                    f"LearnedCoplayerPolicy: query {k} (player {players[k]}) has goal None, but "
                    "the goal-conditioned model needs a goal for every query"
                )
        features = self.features.build(states, players, goals)
        return self._run(features)

    def batch_action_probs(
        self, batch: BatchedState, rows: np.ndarray, seats: np.ndarray, goals: np.ndarray
    ) -> np.ndarray:
        """As :meth:`action_probs` for player ``seats[i]`` in entry ``rows[i]`` of ``batch``
        pursuing ``goals[i]`` (:data:`~agents.hop.interfaces.NO_GOAL` for none)."""
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size == 0:
            return np.zeros((0, self.rules.num_actions), dtype=np.float64)
        goal_array = self._goal_array(goals, seats)
        features = self._batched_features().build(batch, rows, seats, goal_array)
        return self._run(features)

    def field_action_probs(
        self, batch: BatchedState, rows: np.ndarray, seats: np.ndarray, goals: np.ndarray,
        cells: np.ndarray,
    ) -> np.ndarray:  # fmt: skip
        """``(len(rows), len(cells), num_actions)``: :meth:`batch_action_probs` of player
        ``seats[i]`` of entry ``rows[i]`` moved onto each of ``cells`` (flat; the others where
        they are), pursuing ``goals[i]``. Computed incrementally from each entry's view
        (:mod:`agents.hop.incremental_fields`): the same answers up to float32 rounding."""
        rows = np.asarray(rows, dtype=np.int64)
        seats = np.asarray(seats, dtype=np.int64)
        goals = np.asarray(goals, dtype=np.int64)
        cells = np.asarray(cells, dtype=np.int64)
        out = np.empty((rows.size, cells.size, self.rules.num_actions), dtype=np.float64)
        if out.size == 0:
            return out
        # A player who left has no own channel to move: those rows take the full pass.
        left = ~batch.active[rows, seats]
        for part, incremental in ((left, False), (~left, True)):
            if part.any():
                out[part] = self._spread_probs(
                    batch, rows[part], seats[part], goals[part], cells, incremental
                )
        return out

    def _spread_probs(
        self, batch: BatchedState, rows: np.ndarray, seats: np.ndarray, goals: np.ndarray,
        cells: np.ndarray, incremental: bool,
    ) -> np.ndarray:  # fmt: skip
        """:meth:`field_action_probs` of some rows, by the full forward pass on the
        spread-out states or incrementally."""
        count = rows.size * cells.size
        shape = (rows.size, cells.size, self.rules.num_actions)
        spread, seat_rows = spread_over_cells(batch, rows, seats, cells)
        if not incremental:
            probs = self.batch_action_probs(
                spread, np.arange(count), seat_rows, np.repeat(goals, cells.size)
            )
            return probs.reshape(shape)
        builder = self._batched_features()
        features = builder.build(batch, rows, seats, self._goal_array(goals, seats))
        base = features.grids
        if features.goals is not None:
            base = np.concatenate([base, features.goals], axis=1)
        base[:, 0] = 0.0  # the co-player's own cell, added per row
        masks = builder.game.action_masks(spread)[np.arange(count), seat_rows].astype(bool)
        return self.field_model.probs(
            base, features.times, np.repeat(np.arange(rows.size), cells.size),
            np.tile(cells, rows.size), masks,
        ).reshape(shape)  # fmt: skip

    def _goal_array(self, goals: np.ndarray, seats: np.ndarray) -> np.ndarray | None:
        """The goals as int64 for a goal-conditioned model (None for a goal-free one),
        checked: every query needs one."""
        if not self.goal_conditioned:
            return None
        goal_array = np.asarray(goals, dtype=np.int64)
        if (goal_array == NO_GOAL).any():
            k = int(np.flatnonzero(goal_array == NO_GOAL)[0])
            raise ValueError(
                f"LearnedCoplayerPolicy: row {k} (player {int(seats[k])}) has no goal, but "
                "the goal-conditioned model needs a goal for every query"
            )
        return goal_array

    def _run(self, features: Features) -> np.ndarray:
        with torch.inference_mode():
            return softmax_probabilities(self.model.run(features))

    def _batched_features(self) -> BatchedFeatureBuilder:
        if self._batched is None:
            self._batched = BatchedFeatureBuilder(self.features, BatchedGame(self.rules))
        return self._batched


class NetworkEvaluator:
    """Priors (masked, normalised) and values of the focal player from the focal net."""

    def __init__(self, focal_net: FocalNet, rules: GridRules) -> None:
        if not isinstance(focal_net, FocalNet):
            raise TypeError(
                f"NetworkEvaluator: focal_net must be a FocalNet, got {type(focal_net).__name__}"
            )
        focal_net.config.check_rules(rules)
        self.net = focal_net
        #: Runs the net's forward pass (:mod:`agents.hop.compiled_networks`).
        self.compiled = CompiledFocalNet(focal_net)
        self.rules = rules
        self.features = FeatureBuilder(rules)
        self._batched = BatchedFeatureBuilder(self.features, BatchedGame(rules))

    def evaluate(self, states: Sequence[GridState], player: int) -> tuple[np.ndarray, np.ndarray]:
        """``(priors (k, num_actions), values (k,))`` for ``player`` in each state (the
        inputs read from the batch of :class:`~agents.hop.stacked_states.StackedStates`: the
        same arrays, built without a pass over the states)."""
        if len(states) == 0:
            return np.zeros((0, self.rules.num_actions)), np.zeros(0)
        seats = np.full(len(states), player, dtype=np.int64)
        if isinstance(states, StackedStates):
            features = self._batched.build(states.batch, np.arange(len(states)), seats)
        else:
            features = self.features.build(states, seats)
        return self.compiled.evaluate(features.grids, features.times, features.masks)
