"""The subgoal-conditioned co-player policy pi(a | s, z) behind HOP's co-player contracts.

:class:`LatentCoplayerPolicy` answers :class:`~agents.hop.interfaces.CoplayerPolicy` and
:class:`~agents.hop.interfaces.BatchedCoplayerPolicy` with a
:class:`~agents.hop_plus.networks.SubgoalModel`'s policy head: a query's goal is a key of the
decision's :class:`~agents.hop_plus.latent_goals.LatentGoalTable`, whose ``z`` goes to the
network with the co-player's own view, its legal actions and the time. One batched forward
pass per call under ``torch.inference_mode()``. :meth:`LatentCoplayerPolicy.probs_for` asks
with explicit ``z`` vectors (predictions, tests).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from agents.hop.batched_features import BatchedFeatureBuilder
from agents.hop.features import FeatureBuilder, Features
from agents.hop.interfaces import PolicyQuery
from agents.hop_plus.latent_goals import LatentGoalTable
from agents.hop_plus.networks import SubgoalModel
from hop_envs.core import BatchedGame, BatchedState, GridRules, GridState

__all__ = ["LatentCoplayerPolicy"]


class LatentCoplayerPolicy:
    """Co-player action distributions from ``model.policy`` with ``z`` from ``table``."""

    def __init__(self, model: SubgoalModel, rules: GridRules, table: LatentGoalTable) -> None:
        if not isinstance(model, SubgoalModel):
            raise TypeError(
                f"LatentCoplayerPolicy: model must be a SubgoalModel, got {type(model).__name__}"
            )
        model.spec.check_rules(rules)
        if table.goal_dim != model.config.goal_dim:
            raise ValueError(
                f"LatentCoplayerPolicy: the table holds {table.goal_dim}-d subgoals but the "
                f"model's goal_dim is {model.config.goal_dim}"
            )
        self.model = model
        self.rules = rules
        self.table = table
        self.features = FeatureBuilder(rules)
        self._batched = BatchedFeatureBuilder(self.features, BatchedGame(rules))

    def action_probs(self, queries: Sequence[PolicyQuery]) -> np.ndarray:
        """``(len(queries), num_actions)`` rows summing to 1, exactly 0 where masked."""
        if len(queries) == 0:
            return np.zeros((0, self.rules.num_actions), dtype=np.float64)
        keys = [q.goal for q in queries]
        if None in keys:
            k = keys.index(None)
            raise ValueError(
                f"LatentCoplayerPolicy: query {k} (player {queries[k].player}) has goal None; "
                "every HOP+ co-player query needs a latent subgoal key"
            )
        z = self.table.vectors(np.asarray(keys, dtype=np.int64))
        return self.probs_for([q.state for q in queries], [q.player for q in queries], z)

    def batch_action_probs(
        self, batch: BatchedState, rows: np.ndarray, seats: np.ndarray, goals: np.ndarray
    ) -> np.ndarray:
        """As :meth:`action_probs` for player ``seats[i]`` in entry ``rows[i]`` of ``batch``
        pursuing the subgoal with key ``goals[i]``."""
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size == 0:
            return np.zeros((0, self.rules.num_actions), dtype=np.float64)
        z = self.table.vectors(np.asarray(goals, dtype=np.int64))
        return self._run(self._batched.build(batch, rows, np.asarray(seats, dtype=np.int64)), z)

    def probs_for(
        self, states: Sequence[GridState], players: Sequence[int], z: np.ndarray
    ) -> np.ndarray:
        """``pi(. | s_i, z_i)`` of player ``players[i]`` in ``states[i]``."""
        z = np.asarray(z, dtype=np.float32)
        if z.shape != (len(states), self.table.goal_dim):
            raise ValueError(
                f"LatentCoplayerPolicy.probs_for: z must be ({len(states)}, "
                f"{self.table.goal_dim}), got {z.shape}"
            )
        return self._run(self.features.build(states, players), z)

    def _run(self, features: Features, z: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            logits = self.model.policy(
                torch.from_numpy(features.grids),
                torch.from_numpy(features.times),
                torch.from_numpy(features.masks),
                torch.from_numpy(np.ascontiguousarray(z, dtype=np.float32)),
            )
            probs = torch.softmax(logits, dim=1).numpy().astype(np.float64)
        probs /= probs.sum(axis=1, keepdims=True)
        return probs
