"""One buffer for HOP's opponent model and HOP+'s subgoal model.

:class:`SubgoalBuffer` is HOP's :class:`~agents.hop.buffer.OpponentBuffer` (same storage,
same ``add_episode``, same flattened ``samples`` for the step-wise opponent model) with two
additions: :meth:`SubgoalBuffer.sequences` turns the stored per-episode, per-co-player
trajectories (every co-player seat) into padded sequences with hindsight subgoals for the
subgoal model, and ``clear_every`` optionally clears it every N added episodes. Nothing is
stored twice and no episode is re-run: the sequences are read from the same trajectories.
:func:`subgoal_sequences` does the same for any ``OpponentBuffer`` (e.g. the offline buffer of
:func:`agents.hop.action_model_training.collect_rule_based_episodes`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from agents.hop.buffer import CoplayerTrajectory, OpponentBuffer
from agents.hop.goals import RecordedEpisode
from agents.hop_plus.subgoals import ValueFn, check_horizon, check_selector, select_subgoals
from hop_envs.core import GridRules

__all__ = ["SubgoalBuffer", "SubgoalSequences", "subgoal_sequences"]


@dataclass(frozen=True)
class SubgoalSequences:
    """Co-player trajectories padded to a common length ``T`` (``N`` sequences).

    ``grids`` ``(N, T, C, H, W)`` uint8 own views, ``steps`` ``(N, T)`` time steps, ``masks``
    ``(N, T, A)`` legal actions (all True on padding, which no loss reads), ``actions``
    ``(N, T)`` what it did, ``subgoals`` ``(N, T, C, H, W)`` uint8 the hindsight subgoal
    grids, ``subgoal_index`` ``(N, T)`` the step each subgoal was taken from, ``valid``
    ``(N, T)`` bool (False on padding), ``lengths`` ``(N,)``, ``seats`` and ``episodes``
    ``(N,)`` where each came from."""

    grids: np.ndarray
    steps: np.ndarray
    masks: np.ndarray
    actions: np.ndarray
    subgoals: np.ndarray
    subgoal_index: np.ndarray
    valid: np.ndarray
    lengths: np.ndarray
    seats: np.ndarray
    episodes: np.ndarray

    def __len__(self) -> int:
        return int(self.lengths.shape[0])

    @property
    def num_steps(self) -> int:
        return int(self.lengths.sum())

    def subset(self, rows: np.ndarray) -> SubgoalSequences:
        """The sequences at ``rows``, trimmed to their longest length (copies)."""
        rows = np.asarray(rows, dtype=np.int64)
        t = int(self.lengths[rows].max()) if rows.size else 0
        return SubgoalSequences(
            self.grids[rows, :t],
            self.steps[rows, :t],
            self.masks[rows, :t],
            self.actions[rows, :t],
            self.subgoals[rows, :t],
            self.subgoal_index[rows, :t],
            self.valid[rows, :t],
            self.lengths[rows],
            self.seats[rows],
            self.episodes[rows],
        )


def subgoal_sequences(
    trajectories: Iterable[CoplayerTrajectory],
    horizon: int,
    selector: str,
    *,
    value: ValueFn | None = None,
    rules: GridRules | None = None,
) -> SubgoalSequences:
    """Padded sequences with hindsight subgoals (:mod:`agents.hop_plus.subgoals`) of every
    trajectory given. ``rules`` only shapes an empty result."""
    horizon = check_horizon(horizon, "subgoal_sequences")
    selector = check_selector(selector, "subgoal_sequences")
    chosen = [t for t in trajectories if len(t) > 0]
    if not chosen:
        if rules is None:
            raise ValueError("subgoal_sequences: no trajectories; pass rules to get an empty batch")
        c, h, w, a = rules.num_channels, rules.height, rules.width, rules.num_actions
        return SubgoalSequences(
            np.zeros((0, 0, c, h, w), np.uint8),
            np.zeros((0, 0), np.int64),
            np.zeros((0, 0, a), bool),
            np.zeros((0, 0), np.int64),
            np.zeros((0, 0, c, h, w), np.uint8),
            np.zeros((0, 0), np.int64),
            np.zeros((0, 0), bool),
            np.zeros(0, np.int64),
            np.zeros(0, np.int64),
            np.zeros(0, np.int64),
        )
    n, t_max = len(chosen), max(len(t) for t in chosen)
    shape = chosen[0].grids.shape[1:]
    grids = np.zeros((n, t_max, *shape), dtype=np.uint8)
    subgoals = np.zeros_like(grids)
    steps = np.zeros((n, t_max), dtype=np.int64)
    masks = np.ones((n, t_max, chosen[0].masks.shape[1]), dtype=bool)
    actions = np.zeros((n, t_max), dtype=np.int64)
    index = np.zeros((n, t_max), dtype=np.int64)
    valid = np.zeros((n, t_max), dtype=bool)
    for i, traj in enumerate(chosen):
        k = len(traj)
        idx, goal_grids = select_subgoals(
            traj.grids,
            horizon,
            selector,
            labels=traj.goals,
            achievements=None if traj.goals is None else traj.outcome.achievements,
            value=value,
        )
        grids[i, :k], subgoals[i, :k] = traj.grids, goal_grids
        steps[i, :k], masks[i, :k], actions[i, :k] = traj.steps, traj.masks, traj.actions
        index[i, :k], valid[i, :k] = idx, True
    return SubgoalSequences(
        grids,
        steps,
        masks,
        actions,
        subgoals,
        index,
        valid,
        np.asarray([len(t) for t in chosen], dtype=np.int64),
        np.asarray([t.seat for t in chosen], dtype=np.int64),
        np.asarray([t.episode for t in chosen], dtype=np.int64),
    )


class SubgoalBuffer(OpponentBuffer):
    """HOP's opponent buffer that also yields the subgoal model's sequences (module
    docstring). ``clear_every`` (optional): the buffer clears itself before storing an
    episode once that many episodes were added since the last clear."""

    def __init__(
        self, rules: GridRules, max_steps: int | None = None, clear_every: int | None = None
    ) -> None:
        super().__init__(rules, max_steps)
        if clear_every is not None and (
            isinstance(clear_every, bool) or not isinstance(clear_every, int) or clear_every < 1
        ):
            raise ValueError(
                f"SubgoalBuffer: clear_every must be None or an integer >= 1, got {clear_every!r}"
            )
        self.clear_every = clear_every
        self._since_clear = 0

    def add_episode(self, episode: RecordedEpisode) -> list[CoplayerTrajectory]:
        if self.clear_every is not None and self._since_clear >= self.clear_every:
            self.clear()
        self._since_clear += 1
        return super().add_episode(episode)

    def clear(self) -> None:
        super().clear()
        self._since_clear = 0

    def sequences(
        self, horizon: int, selector: str, *, value: ValueFn | None = None
    ) -> SubgoalSequences:
        """Every stored trajectory (every co-player seat, labelled or censored) as padded
        sequences with hindsight subgoals."""
        return subgoal_sequences(self, horizon, selector, value=value, rules=self.rules)
