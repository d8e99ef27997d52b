"""Leaf states that the planner hands to evaluators together with their batch.

A module of its own, not part of :mod:`agents.hop.interfaces`: the networks (and through them
the learning baselines' code fingerprints) import the interfaces, and this belongs to the
planner's side only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from hop_envs.core import BatchedState, GridState

__all__ = ["StackedStates"]


class StackedStates(list[GridState]):
    """A list of states that can also give them as one :class:`BatchedState` (entry ``i``
    is state ``i``), built on first use by ``make_batch``. The planner hands its leaves to
    evaluators this way: an evaluator that works on batches reads :attr:`batch` instead of
    stacking the states again, any other one sees a plain list."""

    def __init__(self, states: Sequence[GridState], make_batch: Callable[[], BatchedState]) -> None:
        super().__init__(states)
        self._make_batch = make_batch
        self._batch: BatchedState | None = None

    @property
    def batch(self) -> BatchedState:
        """The states stacked (read it, do not change it)."""
        if self._batch is None:
            self._batch = self._make_batch()
        return self._batch
