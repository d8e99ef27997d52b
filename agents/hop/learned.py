"""Adapters that let the planner query the learned networks through the HOP contracts.

:class:`LearnedCoplayerPolicy` answers :class:`~agents.hop.interfaces.CoplayerPolicy` with an
opponent model, :class:`NetworkEvaluator` answers
:class:`~agents.hop.interfaces.LeafEvaluator` with the focal net. Each call is one batched
forward pass under ``torch.inference_mode()`` with numpy-built features.

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
from agents.hop.features import FeatureBuilder, Features
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
        goal_array = None
        if self.goal_conditioned:
            goal_array = np.asarray(goals, dtype=np.int64)
            if (goal_array == NO_GOAL).any():
                k = int(np.flatnonzero(goal_array == NO_GOAL)[0])
                raise ValueError(
                    f"LearnedCoplayerPolicy: row {k} (player {int(seats[k])}) has no goal, but "
                    "the goal-conditioned model needs a goal for every query"
                )
        features = self._batched_features().build(batch, rows, seats, goal_array)
        return self._run(features)

    def _run(self, features: Features) -> np.ndarray:
        with torch.inference_mode():
            logits = self.model.run(features)
            probs = torch.softmax(logits, dim=1).numpy().astype(np.float64)
        probs /= probs.sum(axis=1, keepdims=True)
        return probs

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
        with torch.inference_mode():
            logits, values = self.net.run(features)
            priors = torch.softmax(logits, dim=1).numpy().astype(np.float64)
        priors /= priors.sum(axis=1, keepdims=True)
        return priors, values.numpy().astype(np.float64)
