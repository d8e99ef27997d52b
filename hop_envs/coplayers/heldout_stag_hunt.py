"""Held-out stag-hunt co-players (evaluation only, DESIGN §4/§6): play that the first steps
do not reveal.

In the first steps ``patient-stag``, ``reciprocator`` and ``alternator`` (in their stag
episodes) all walk to the stag like the training ``nearest-stag``, and ``stag-follower``
walks to a hare like ``nearest-hare``; what tells them apart comes later in the episode
(giving up, following) or across the episodes of a trial (alternating, reciprocating). Each
moves along shortest paths around the walls, ties broken uniformly at random with its one
RNG, and hunts only on its prey's cell. Their actions depend on memory, so none of them
has an ``action_distribution``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from hop_envs.coplayers.base import STAG_HUNT_ID
from hop_envs.coplayers.board import Board, read_step
from hop_envs.coplayers.memory import MemoryCoplayer, check_count, check_option
from hop_envs.core.layout import STAY
from hop_envs.core.stag_hunt import HARE, HUNT_HARE, HUNT_STAG, STAG, StagHuntRules

#: The prey kinds by name, as the ``start``/``first`` arguments and the infos spell them.
PREY = {"stag": STAG, "hare": HARE}
HUNT = {STAG: HUNT_STAG, HARE: HUNT_HARE}


class StagHuntMemoryCoplayer(MemoryCoplayer):
    """A memory-based co-player of the Markov Stag-Hunt."""

    supported_envs = (STAG_HUNT_ID,)
    num_actions = len(StagHuntRules.action_names)
    num_kinds = len(StagHuntRules.object_kinds)

    @staticmethod
    def hunt(board: Board, mask: np.ndarray, kind: int) -> tuple[int, ...]:
        """``nearest-stag`` / ``nearest-hare`` for ``kind``: shortest path to the nearest
        prey of that kind, hunt it on its cell, stay when none is left."""
        return board.seek(board.objects(kind), HUNT[kind], mask)


class PatientStag(StagHuntMemoryCoplayer):
    """Stag hunt: hunts the stag, but turns to hares after `patience` failed hunts.

    Like ``nearest-stag`` it walks to the nearest stag and hunts it every step. Each hunt
    that fails (no partner hunted with it) counts; once ``patience`` hunts have failed in
    an episode, or once no stag is left, it plays ``nearest-hare`` for the rest of the
    episode. Memory: the failed hunts of the current episode (it counts its own hunt-stag
    actions: a successful one takes it out of the game). Kwarg ``patience`` (int >= 1,
    default 4). No seat needed. No ``action_distribution`` (the count is memory).
    """

    name = "patient-stag"
    arguments = ("patience",)

    def __init__(self, patience: int = 4) -> None:
        self.patience = check_count(self.name, "patience", patience, 1)
        super().__init__()

    def forget_episode(self) -> None:
        self.failed_hunts = 0
        self.gave_up = False

    def choose(
        self, board: Board, mask: np.ndarray, observation: Mapping[str, Any]
    ) -> tuple[int, ...]:
        if self.failed_hunts >= self.patience or not board.objects(STAG).any():
            self.gave_up = True
        return self.hunt(board, mask, HARE if self.gave_up else STAG)

    def chose(self, action: int) -> None:
        if action == HUNT_STAG:
            self.failed_hunts += 1  # acting again after a hunt means it failed


class Alternator(StagHuntMemoryCoplayer):
    """Stag hunt: switches prey kind every episode (stag, hare, stag, ... from `start`).

    In an episode of its stag turn it plays exactly ``nearest-stag`` (hunting the stag
    every step until a partner joins, staying once no stag is left); in a hare turn exactly
    ``nearest-hare``. Memory: the number of episodes ended since ``reset`` (the first
    episode of a trial is ``start``'s). Kwarg ``start`` ("stag" or "hare", default
    "stag"). No seat needed. No ``action_distribution`` (the turn is memory).
    """

    name = "alternator"
    arguments = ("start",)

    def __init__(self, start: str = "stag") -> None:
        self.start = check_option(self.name, "start", start, tuple(PREY))
        super().__init__()

    @property
    def kind(self) -> int:
        """The prey kind of the current episode."""
        first = PREY[self.start]
        return first if self.episodes_played % 2 == 0 else 1 - first

    def choose(
        self, board: Board, mask: np.ndarray, observation: Mapping[str, Any]
    ) -> tuple[int, ...]:
        return self.hunt(board, mask, self.kind)


class Reciprocator(StagHuntMemoryCoplayer):
    """Stag hunt: hunts the stag only if another player hunted a stag last episode.

    The first episode of a trial it hunts ``first``. In every later episode it plays
    ``nearest-stag`` if, in the previous episode, at least one *other* player chose
    hunt-stag on a stag (a capture, ``infos["captured"] == "stag"``, or a failed hunt,
    ``infos["failed_stag_hunt"]``), and ``nearest-hare`` otherwise. Memory: that flag,
    gathered by ``observe`` (also after it has left the game) and fixed at
    ``end_episode``. Kwarg ``first`` ("stag" or "hare", default "stag"). Needs its seat
    (``reset(seed, seat)``) to tell its own hunts from the others'. No
    ``action_distribution`` (the prey kind is memory).
    """

    name = "reciprocator"
    arguments = ("first",)

    def __init__(self, first: str = "stag") -> None:
        self.first = check_option(self.name, "first", first, tuple(PREY))
        super().__init__()

    def forget_trial(self) -> None:
        self.kind = PREY[self.first]

    def forget_episode(self) -> None:
        self.others_hunted_stag = False

    def remember(self, transition: Any) -> None:
        for info in self.others_infos(transition):
            if info.get("captured") == "stag" or info.get("failed_stag_hunt"):
                self.others_hunted_stag = True

    def summarise_episode(self) -> None:
        self.kind = STAG if self.others_hunted_stag else HARE

    def choose(
        self, board: Board, mask: np.ndarray, observation: Mapping[str, Any]
    ) -> tuple[int, ...]:
        return self.hunt(board, mask, self.kind)


class StagFollower(StagHuntMemoryCoplayer):
    """Stag hunt: waits on a hare until someone leads to the stag, then follows.

    Until it follows, it walks to the nearest hare and **stays** on it without hunting.
    As soon as it sees another player standing on a live stag's cell (in any observation
    of the episode, the first included) it follows for the rest of the episode: it plays
    ``nearest-stag``, and ``nearest-hare`` once no stag is left. If nobody has led by
    time step ``wait`` (``observation["step"] >= wait``) it stops waiting and plays
    ``nearest-hare`` (still turning to follow if it sees a leader before it has captured a
    hare). Memory: whether it follows (per episode). Kwarg ``wait`` (int >= 0, default
    15). No seat needed. No ``action_distribution`` (following is memory).
    """

    name = "stag-follower"
    arguments = ("wait",)

    def __init__(self, wait: int = 15) -> None:
        self.wait = check_count(self.name, "wait", wait, 0)
        super().__init__()

    def forget_episode(self) -> None:
        self.following = False

    def choose(
        self, board: Board, mask: np.ndarray, observation: Mapping[str, Any]
    ) -> tuple[int, ...]:
        stags = board.objects(STAG)
        if not self.following and (stags.astype(bool) & board.others()).any():
            self.following = True
        if self.following:
            return self.hunt(board, mask, STAG if stags.any() else HARE)
        if read_step(observation, self.name) >= self.wait:
            return self.hunt(board, mask, HARE)
        return board.seek(board.objects(HARE), STAY, mask)
