"""Network inputs read straight from a :class:`~hop_envs.core.BatchedState`.

The rollouts of a search round live in one batched state; building the opponent model's
inputs from it avoids turning thousands of rows back into scalar states. The inputs are
exactly those of :meth:`agents.hop.features.FeatureBuilder.build` for the same states,
players and goals (a test checks it): the observer's own channel first, the others in seat
order after it, walls, one channel per object kind; the observer's legal-action mask; the
time ``t / max_cycles``; and the goal planes.
"""

from __future__ import annotations

import numpy as np

from agents.hop.features import FeatureBuilder, Features
from hop_envs.core import BatchedGame, BatchedState

__all__ = ["BatchedFeatureBuilder"]


class BatchedFeatureBuilder:
    """Builds :class:`Features` for rows and seats of a batched state (one game's rules)."""

    def __init__(self, builder: FeatureBuilder, game: BatchedGame) -> None:
        self.builder = builder
        self.game = game
        rules = builder.rules
        # Row j: the channel order of observer j (its own channel first).
        self._orders = np.stack([rules.channel_order(j) for j in range(rules.num_players)])

    def build(
        self,
        batch: BatchedState,
        rows: np.ndarray,
        seats: np.ndarray,
        goals: np.ndarray | None = None,
    ) -> Features:
        """Features of player ``seats[i]`` in entry ``rows[i]`` of ``batch`` (pursuing
        ``goals[i]`` if given)."""
        rows = np.asarray(rows, dtype=np.int64)
        seats = np.asarray(seats, dtype=np.int64)
        if rows.shape != seats.shape or rows.ndim != 1 or rows.size == 0:
            raise ValueError(
                "BatchedFeatureBuilder.build: rows and seats must be equal, non-empty 1-D "
                f"arrays, got shapes {rows.shape} and {seats.shape}"
            )
        index = np.arange(rows.size)
        # Every entry in order (the co-player fields ask so): the batch itself, uncopied.
        whole = rows.size == batch.batch_size and np.array_equal(rows, index)
        sub = batch if whole else batch.take(rows)
        layers = self.game.layers(sub)
        grids = layers[index[:, None], self._orders[seats]].astype(np.float32)
        masks = self.game.action_masks(sub)[index, seats].astype(bool)
        times = (sub.t / self.builder.max_cycles).astype(np.float32)
        planes = None
        if goals is not None:
            planes = self.builder.goal_planes(goals, expected=rows.size)
        return Features(grids=grids, times=times, masks=masks, goals=planes)
