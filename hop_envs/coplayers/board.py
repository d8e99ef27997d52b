"""An observation read the way the held-out co-players read it: cells, objects, moves.

The grid is channels first: channel 0 the observing player, then the other players, then
walls, then one channel per object kind (DESIGN §3.3). :class:`Board` answers the questions
the held-out co-players ask of it (where am I, where are the stags, is another player on
one) and turns a set of target cells into the first moves of a shortest path through
:func:`hop_envs.coplayers.paths.seek_table`, exactly as the training seekers do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from hop_envs.coplayers.base import legal_actions
from hop_envs.coplayers.paths import seek_table
from hop_envs.core.layout import STAY


class Board:
    """One observation grid of a game with ``num_kinds`` object channels.

    ``name`` is the co-player's, for error messages. The grid is checked for shape on
    construction (``ValueError``).
    """

    __slots__ = ("grid", "height", "name", "num_kinds", "walls", "width")

    def __init__(self, grid: np.ndarray, num_kinds: int, name: str) -> None:
        if grid.ndim != 3 or grid.shape[0] < num_kinds + 3:
            raise ValueError(
                f"co-player {name!r}: observation['observation'] must be a (C, H, W) grid with "
                f"C >= {num_kinds + 3} (players, walls, {num_kinds} object channel(s)), got "
                f"shape {grid.shape}"
            )
        if grid.dtype != np.uint8:
            grid = (grid != 0).astype(np.uint8)
        self.grid = grid
        self.name = name
        self.num_kinds = num_kinds
        self.height, self.width = int(grid.shape[1]), int(grid.shape[2])
        #: Index of the wall channel; the players' channels come before it.
        self.walls = grid.shape[0] - 1 - num_kinds

    def objects(self, kind: int) -> np.ndarray:
        """The ``(H, W)`` channel of the live objects of ``kind``."""
        return self.grid[self.walls + 1 + kind]

    def others(self) -> np.ndarray:
        """``(H, W)`` bool: cells where at least one other player (still in the game) is."""
        return self.grid[1 : self.walls].any(axis=0)

    def own_cell(self) -> int | None:
        """The observing player's cell index (row * width + col); ``None`` once it has left."""
        own = self.grid[0].reshape(-1)
        cell = int(own.argmax())
        return cell if own[cell] else None

    def seek(self, targets: np.ndarray, on_target: int, mask: np.ndarray) -> tuple[int, ...]:
        """The first moves of the shortest paths to the nearest ``targets`` cell
        (``on_target`` when on one; stay when none is reachable or the player has left).

        ``ValueError`` if ``mask`` forbids one of them (the grid and the mask disagree).
        """
        cell = self.own_cell()
        if cell is None:
            return (STAY,)
        options = seek_table(
            self.height,
            self.width,
            self.grid[self.walls].tobytes(),
            (targets != 0).astype(np.uint8).tobytes(),
            on_target,
        )[cell]
        for action in options:
            if not mask[action]:
                raise ValueError(
                    f"co-player {self.name!r}: observation['action_mask'] forbids action "
                    f"{action}, which the observation grid allows at cell {cell} "
                    f"(mask {mask.tolist()}); the grid and the mask disagree"
                )
        return options


def wander(mask: np.ndarray, name: str) -> tuple[int, ...]:
    """The legal moves and stay (the ``free-rider``'s choices): never an object action."""
    options = tuple(a for a in legal_actions(mask, name) if a <= STAY)
    if STAY not in options:
        raise ValueError(
            f"co-player {name!r}: observation['action_mask'] must allow stay (action {STAY}), "
            f"got {mask.tolist()}"
        )
    return options


def read_step(observation: Mapping[str, Any], name: str) -> int:
    """The env's time step, ``observation["step"]`` (``ValueError`` if it is missing)."""
    try:
        step = observation["step"]
    except (KeyError, TypeError, IndexError):
        raise ValueError(
            f"co-player {name!r} reads the time step: the observation must have the env's "
            f"'step' entry, got {type(observation).__name__} without it"
        ) from None
    return int(step)
