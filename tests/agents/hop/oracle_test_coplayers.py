"""Plug-in co-players for the ``oracle-mcts`` tests: plain classes following the Agent
protocol, with no ``action_distribution`` (the oracle must plan with copies of them).

Named by ``module:Class`` path (``oracle_test_coplayers:StagWalker``): pytest puts this
folder on ``sys.path``.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from hop_envs.coplayers.board import Board
from hop_envs.core import HARE, HUNT_HARE, HUNT_STAG, STAG, STAY


class StagWalker:
    """Stag hunt: walks a shortest path to the nearest stag (ties at random with its own
    RNG) and hunts it every step once there; stays once no stag is left. It remembers how
    many times it has hunted (``hunts``, this episode) and how many joint steps it has
    observed in the trial (``steps_seen``)."""

    def __init__(self) -> None:
        self.rng = np.random.default_rng()
        self.hunts = 0
        self.steps_seen = 0

    def reset(self, seed: int | None = None, seat: Any = None) -> None:
        self.rng = np.random.default_rng(seed)
        self.seat = seat
        self.steps_seen = 0

    def start_episode(self) -> None:
        self.hunts = 0

    def act(self, observation: Any) -> int:
        board = Board(observation["observation"], 2, "stag-walker")
        options = self.options(board, observation["action_mask"])
        action = options[int(self.rng.integers(len(options)))]
        if action == HUNT_STAG:
            self.hunts += 1
        return action

    def options(self, board: Board, mask: np.ndarray) -> tuple[int, ...]:
        return board.seek(board.objects(STAG), HUNT_STAG, mask)

    def observe(self, transition: Any) -> None:
        self.steps_seen += 1

    def end_episode(self) -> None:
        return None


class HareWalker(StagWalker):
    """Stag hunt: as :class:`StagWalker`, for the nearest hare."""

    def options(self, board: Board, mask: np.ndarray) -> tuple[int, ...]:
        return board.seek(board.objects(HARE), HUNT_HARE, mask)


class GlobalRandomWalker:
    """Any game: a legal action drawn from numpy's *global* generator (bad practice, but a
    plug-in may do it)."""

    def reset(self, seed: int | None = None, seat: Any = None) -> None:
        return None

    def start_episode(self) -> None:
        return None

    def act(self, observation: Any) -> int:
        legal = np.flatnonzero(observation["action_mask"])
        return int(legal[np.random.randint(legal.size)])

    def observe(self, transition: Any) -> None:
        return None

    def end_episode(self) -> None:
        return None


class LockedStayer:
    """Any game: stays; holds a lock, so ``copy.deepcopy`` of it raises ``TypeError``."""

    def __init__(self) -> None:
        self.lock = threading.Lock()

    def reset(self, seed: int | None = None, seat: Any = None) -> None:
        return None

    def start_episode(self) -> None:
        return None

    def act(self, observation: Any) -> int:
        return STAY

    def observe(self, transition: Any) -> None:
        return None

    def end_episode(self) -> None:
        return None
