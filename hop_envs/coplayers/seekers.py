"""Co-players that walk to the nearest object of one kind and act on it.

``nearest-stag`` / ``nearest-hare`` (stag hunt) and ``cleaner`` (snowdrift) take a shortest
path around the walls to the nearest live object of their kind; when several first moves
lie on shortest paths to equally near objects they pick one uniformly at random. On an
object of their kind they hunt it / remove it, every step, for as long as they stand there
(a lone stag hunter keeps trying until a partner joins it).

When no object of their kind is left (or none can be reached), they **stay** where they are:
a stag hunter does not turn to hares, so a co-player's goal (DESIGN §3.1) is always its own
prey kind or nothing.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from hop_envs.coplayers.base import SNOWDRIFT_ID, STAG_HUNT_ID, RuleBasedCoplayer
from hop_envs.coplayers.paths import seek_table
from hop_envs.core.layout import STAY
from hop_envs.core.snowdrift import DRIFT, REMOVE, SnowdriftRules
from hop_envs.core.stag_hunt import HARE, HUNT_HARE, HUNT_STAG, STAG, StagHuntRules


class NearestObjectSeeker(RuleBasedCoplayer):
    """Shortest path to the nearest object of ``kind``, then ``object_action`` on it.

    The observation grid is read as: channel 0 this player, then the other players, then
    walls, then ``num_kinds`` object channels (``kind`` indexes them).
    """

    kind: ClassVar[int]
    num_kinds: ClassVar[int]
    object_action: ClassVar[int]

    def choices(self, grid: np.ndarray, mask: np.ndarray) -> tuple[int, ...]:
        if grid.ndim != 3 or grid.shape[0] < self.num_kinds + 3:
            raise ValueError(
                f"co-player {self.name!r}: observation['observation'] must be a (C, H, W) "
                f"grid with C >= {self.num_kinds + 3} (players, walls, {self.num_kinds} "
                f"object channel(s)), got shape {grid.shape}"
            )
        if grid.dtype != np.uint8:
            grid = (grid != 0).astype(np.uint8)
        channels, height, width = grid.shape
        own = grid[0].reshape(-1)
        cell = int(own.argmax())
        if not own[cell]:  # this player has left the game: it can only stay
            options: tuple[int, ...] = (STAY,)
        else:
            walls = channels - 1 - self.num_kinds
            options = seek_table(
                height,
                width,
                grid[walls].tobytes(),
                grid[walls + 1 + self.kind].tobytes(),
                self.object_action,
            )[cell]
        for action in options:
            if not mask[action]:
                raise ValueError(
                    f"co-player {self.name!r}: observation['action_mask'] forbids action "
                    f"{action}, which the observation grid allows at cell {cell} "
                    f"(mask {mask.tolist()}); the grid and the mask disagree"
                )
        return options


class NearestStag(NearestObjectSeeker):
    """Stag hunt: shortest path to the nearest stag, then hunt-stag on it every step.

    Stays when no stag is left."""

    name = "nearest-stag"
    supported_envs = (STAG_HUNT_ID,)
    num_actions = len(StagHuntRules.action_names)
    kind = STAG
    num_kinds = len(StagHuntRules.object_kinds)
    object_action = HUNT_STAG


class NearestHare(NearestObjectSeeker):
    """Stag hunt: shortest path to the nearest hare, then hunt-hare on it.

    Stays when no hare is left."""

    name = "nearest-hare"
    supported_envs = (STAG_HUNT_ID,)
    num_actions = len(StagHuntRules.action_names)
    kind = HARE
    num_kinds = len(StagHuntRules.object_kinds)
    object_action = HUNT_HARE


class Cleaner(NearestObjectSeeker):
    """Snowdrift: shortest path to the nearest drift (ties at random), then removes it.

    Stays when no drift is left."""

    name = "cleaner"
    supported_envs = (SNOWDRIFT_ID,)
    num_actions = len(SnowdriftRules.action_names)
    kind = DRIFT
    num_kinds = len(SnowdriftRules.object_kinds)
    object_action = REMOVE
