"""The opponent-model buffer: co-player steps from the agent's own current episodes.

HOP trains its opponent model on the episodes it is playing (no extra rollouts) and clears
the buffer after each training round (DESIGN §7). The buffer keeps one
:class:`CoplayerTrajectory` per co-player per episode (the co-player's own view, its legal
actions, the time, what it did and its hindsight goals), not only flattened samples, so a
sequence model (HOP+'s CVAE over co-player histories, DESIGN §8) can draw from the same
buffer. :meth:`OpponentBuffer.samples` flattens them for the step-wise models.

Actions are stored as the env executed them (an in-range action the mask forbids ran as
stay), so every stored action is legal under its stored mask.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from agents.hop.features import FeatureBuilder
from agents.hop.goals import CoplayerOutcome, RecordedEpisode
from hop_envs.core import GridRules

__all__ = ["CoplayerTrajectory", "OMSamples", "OpponentBuffer"]


@dataclass(frozen=True)
class CoplayerTrajectory:
    """One co-player's steps in one episode, in order.

    ``grids`` ``(T, C, H, W)`` uint8 is its own view (``rules.observation(state, seat)``),
    ``steps`` the time step of each, ``masks`` ``(T, A)`` its legal actions, ``actions`` what
    it did, ``goals`` its hindsight labels (None when it has none: a censored co-player; a
    stag-hunt co-player that captured nothing is labelled IDLE, like an idle snowdrift one).
    """

    episode: int
    seat: int
    grids: np.ndarray
    steps: np.ndarray
    masks: np.ndarray
    actions: np.ndarray
    goals: np.ndarray | None
    outcome: CoplayerOutcome

    def __len__(self) -> int:
        return int(self.actions.shape[0])


@dataclass(frozen=True)
class OMSamples:
    """Flattened co-player steps for step-wise training (``goals`` None: goal-free)."""

    grids: np.ndarray
    steps: np.ndarray
    masks: np.ndarray
    actions: np.ndarray
    goals: np.ndarray | None

    def __len__(self) -> int:
        return int(self.actions.shape[0])

    def subset(self, index: np.ndarray) -> OMSamples:
        """The samples at ``index`` (numpy fancy indexing; copies)."""
        return OMSamples(
            self.grids[index],
            self.steps[index],
            self.masks[index],
            self.actions[index],
            None if self.goals is None else self.goals[index],
        )


class OpponentBuffer:
    """Per-episode, per-co-player trajectories from the current episodes.

    ``max_steps`` (optional) bounds the stored steps: when an episode would exceed it, the
    oldest trajectories are dropped first. HOP clears the buffer after every training round,
    so the bound only matters when rounds are far apart.
    """

    def __init__(self, rules: GridRules, max_steps: int | None = None) -> None:
        if max_steps is not None and (
            isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1
        ):
            raise ValueError(f"OpponentBuffer: max_steps must be None or >= 1, got {max_steps!r}")
        self.rules = rules
        self.max_steps = max_steps
        self.features = FeatureBuilder(rules)
        self._trajectories: list[CoplayerTrajectory] = []
        self._episodes_added = 0

    def __len__(self) -> int:
        """The number of stored co-player steps."""
        return sum(len(t) for t in self._trajectories)

    def __iter__(self) -> Iterator[CoplayerTrajectory]:
        return iter(self._trajectories)

    @property
    def trajectories(self) -> tuple[CoplayerTrajectory, ...]:
        return tuple(self._trajectories)

    @property
    def episodes_added(self) -> int:
        """Episodes added since the buffer was made (never reset by :meth:`clear`)."""
        return self._episodes_added

    def add_episode(self, episode: RecordedEpisode) -> list[CoplayerTrajectory]:
        """Store every co-player's steps of a recorded episode; returns the new trajectories."""
        index = self._episodes_added
        self._episodes_added += 1
        added = []
        for seat, co in episode.coplayers.items():
            if len(co) == 0:
                continue
            states = [episode.states[k] for k in co.step_index.tolist()]
            players = np.full(len(states), seat, dtype=np.int64)
            added.append(
                CoplayerTrajectory(
                    episode=index,
                    seat=seat,
                    grids=self.features.grids(states, players, dtype=np.uint8),
                    steps=np.asarray([s.t for s in states], dtype=np.int64),
                    masks=self.features.masks(states, players),
                    actions=co.actions.copy(),
                    goals=None if co.labels is None else co.labels.copy(),
                    outcome=co.outcome,
                )
            )
        for trajectory in added:
            if not trajectory.masks[np.arange(len(trajectory)), trajectory.actions].all():
                raise ValueError(
                    f"OpponentBuffer: seat {trajectory.seat} has an action its mask forbids; "
                    "record executed actions (goals.executed_actions)"
                )
        self._trajectories.extend(added)
        if self.max_steps is not None:
            total = len(self)
            while total > self.max_steps and self._trajectories:
                total -= len(self._trajectories.pop(0))
        return added

    def num_samples(self, goal_conditioned: bool) -> int:
        """Steps usable by the goal-conditioned model (labelled ones) or the goal-free one."""
        return sum(
            len(t) for t in self._trajectories if not goal_conditioned or t.goals is not None
        )

    def samples(self, goal_conditioned: bool) -> OMSamples:
        """All stored steps flattened (only labelled trajectories when ``goal_conditioned``)."""
        chosen = [t for t in self._trajectories if not goal_conditioned or t.goals is not None]
        f = self.features
        if not chosen:
            return OMSamples(
                np.zeros((0, f.num_channels, f.height, f.width), dtype=np.uint8),
                np.zeros(0, dtype=np.int64),
                np.zeros((0, f.num_actions), dtype=bool),
                np.zeros(0, dtype=np.int64),
                np.zeros(0, dtype=np.int64) if goal_conditioned else None,
            )
        return OMSamples(
            np.concatenate([t.grids for t in chosen]),
            np.concatenate([t.steps for t in chosen]),
            np.concatenate([t.masks for t in chosen]),
            np.concatenate([t.actions for t in chosen]),
            np.concatenate([t.goals for t in chosen]) if goal_conditioned else None,  # type: ignore[misc]
        )

    def clear(self) -> None:
        """Drop every stored trajectory (after a training round)."""
        self._trajectories.clear()
