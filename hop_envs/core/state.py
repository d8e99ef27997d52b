"""The compact, copyable state shared by both games and the outcome of one step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from hop_envs.core.layout import GridLayout


@dataclass(slots=True)
class GridState:
    """Everything that changes during an episode, as a few small arrays and ints.

    Positions are flat cell indices (``row * width + col``). Objects are the prey of the stag
    hunt (kind 0 stag, 1 hare) or the drifts of the snowdrift (kind 0). ``layout`` and
    ``object_kind`` never change within an episode and are shared between copies.
    """

    layout: GridLayout
    player_pos: np.ndarray  # (n,) int64
    active: np.ndarray  # (n,) bool: still in the game
    object_pos: np.ndarray  # (m,) int64
    object_kind: np.ndarray  # (m,) int64, shared
    object_alive: np.ndarray  # (m,) bool
    t: int = 0
    first_capture_t: int = -1
    over: bool = False

    def copy(self) -> GridState:
        """A cheap copy: the mutable arrays are copied, the static layout is shared."""
        return GridState(
            self.layout,
            self.player_pos.copy(),
            self.active.copy(),
            self.object_pos,
            self.object_kind,
            self.object_alive.copy(),
            self.t,
            self.first_capture_t,
            self.over,
        )

    @property
    def num_players(self) -> int:
        return int(self.player_pos.shape[0])

    def player_rc(self, player: int) -> tuple[int, int]:
        """Row and column of ``player``."""
        r, c = divmod(int(self.player_pos[player]), self.layout.width)
        return r, c

    def object_at(self, cell: int) -> int:
        """Index of the live object on ``cell``, or -1 (objects never share a cell)."""
        hits = np.flatnonzero((self.object_pos == cell) & self.object_alive)
        return int(hits[0]) if hits.size else -1


class StepOutcome(NamedTuple):
    """What one joint action did, per player (arrays of length n).

    ``target`` is the object a player captured (stag hunt) or removed (snowdrift) in this
    step, or -1. ``failed`` marks stag hunters whose group was too small. ``illegal`` marks
    actions the mask forbade, which ran as stay.
    """

    rewards: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    target: np.ndarray
    failed: np.ndarray
    illegal: np.ndarray
