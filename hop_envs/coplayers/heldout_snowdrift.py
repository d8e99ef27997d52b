"""Held-out snowdrift co-players (evaluation only, DESIGN §4/§6): cleaning that the first
steps do not reveal.

Each one either *cleans* like the training ``cleaner`` (shortest path around the walls to
the nearest drift, ties broken uniformly at random, remove on it) or *free-rides* like the
training ``free-rider`` (uniform over the legal moves and stay, never removes), and switches
between the two on a rule of its own: a quota (``lazy-cleaner``), a clock (``late-cleaner``),
another player's removal in this episode (``conditional-cleaner``) or the other players'
removals in the previous episode (``reciprocal-cleaner``). ``late-cleaner`` reads its clock
from the observation and so keeps an exact ``action_distribution``; the other three act on
memory and have none.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from hop_envs.coplayers.base import SNOWDRIFT_ID
from hop_envs.coplayers.board import Board, read_step, wander
from hop_envs.coplayers.memory import MemoryCoplayer, check_count, transition_infos
from hop_envs.coplayers.seekers import Cleaner
from hop_envs.core.snowdrift import DRIFT, REMOVE, SnowdriftRules


class SnowdriftMemoryCoplayer(MemoryCoplayer):
    """A memory-based co-player of the Markov Snowdrift game."""

    supported_envs = (SNOWDRIFT_ID,)
    num_actions = len(SnowdriftRules.action_names)
    num_kinds = len(SnowdriftRules.object_kinds)

    def clean_or_wander(self, board: Board, mask: np.ndarray, clean: bool) -> tuple[int, ...]:
        """``cleaner``'s choices if ``clean``, else ``free-rider``'s."""
        if clean:
            return board.seek(board.objects(DRIFT), REMOVE, mask)
        return wander(mask, self.name)


class LazyCleaner(SnowdriftMemoryCoplayer):
    """Snowdrift: removes `quota` drifts per episode like cleaner, then free-rides.

    It plays ``cleaner`` until it has removed ``quota`` drifts in the episode (alone or
    together with others; a remove on a drift always succeeds), then ``free-rider`` for the
    rest of the episode. Memory: its removals in the current episode (counted from its own
    remove actions). Kwarg ``quota`` (int >= 1, default 1). No seat needed. No
    ``action_distribution`` (the count is memory).
    """

    name = "lazy-cleaner"
    arguments = ("quota",)

    def __init__(self, quota: int = 1) -> None:
        self.quota = check_count(self.name, "quota", quota, 1)
        super().__init__()

    def forget_episode(self) -> None:
        self.removed = 0

    def choose(
        self, board: Board, mask: np.ndarray, observation: Mapping[str, Any]
    ) -> tuple[int, ...]:
        return self.clean_or_wander(board, mask, self.removed < self.quota)

    def chose(self, action: int) -> None:
        if action == REMOVE:
            self.removed += 1


class LateCleaner(Cleaner):
    """Snowdrift: free-rides for the first `delay` steps of an episode, then cleans.

    While ``observation["step"] < delay`` it plays ``free-rider`` (uniform over the legal
    moves and stay); from then on ``cleaner``. It keeps no memory: the step is part of the
    observation, so ``action_distribution(observation)`` is its exact policy. Kwarg
    ``delay`` (int >= 0, default 15; 0 is ``cleaner``). No seat needed.
    """

    name = "late-cleaner"

    def __init__(self, delay: int = 15) -> None:
        self.delay = check_count(self.name, "delay", delay, 0)
        super().__init__()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(delay={self.delay!r})"

    def observation_choices(self, observation: Mapping[str, Any]) -> tuple[tuple[int, ...], int]:
        grid, mask = self._read(observation)
        if read_step(observation, self.name) < self.delay:
            return wander(mask, self.name), mask.shape[0]
        return self.choices(grid, mask), mask.shape[0]


class ConditionalCleaner(SnowdriftMemoryCoplayer):
    """Snowdrift: free-rides until another player removes a drift, then cleans.

    It plays ``free-rider`` until an observed joint step has a removal
    (``infos[agent]["removed_drift"]`` not None for some player), then ``cleaner`` for
    the rest of the episode. Since it removes nothing before that, every removal it reacts
    to is another player's, so it needs no seat; it learns of removals only through
    ``observe``. Memory: whether it has seen a removal (per episode). No kwargs. No
    ``action_distribution`` (the trigger is memory).
    """

    name = "conditional-cleaner"

    def forget_episode(self) -> None:
        self.triggered = False

    def remember(self, transition: Any) -> None:
        if not self.triggered:
            infos = transition_infos(transition, self.name).values()
            self.triggered = any(info.get("removed_drift") is not None for info in infos)

    def choose(
        self, board: Board, mask: np.ndarray, observation: Mapping[str, Any]
    ) -> tuple[int, ...]:
        return self.clean_or_wander(board, mask, self.triggered)


class ReciprocalCleaner(SnowdriftMemoryCoplayer):
    """Snowdrift: cleans only if the others removed `threshold` drifts last episode.

    The first episode of a trial it plays ``cleaner``. In every later episode it plays
    ``cleaner`` if, in the previous episode, the *other* players removed at least
    ``threshold`` distinct drifts (a drift removed together with it counts when another
    player took part), and ``free-rider`` otherwise. Memory: the drift ids the others
    removed, gathered by ``observe`` and turned into the decision at ``end_episode``.
    Kwarg ``threshold`` (int >= 1, default 1). Needs its seat (``reset(seed, seat)``) to
    tell its own removals from the others'. No ``action_distribution`` (the decision is
    memory).
    """

    name = "reciprocal-cleaner"
    arguments = ("threshold",)

    def __init__(self, threshold: int = 1) -> None:
        self.threshold = check_count(self.name, "threshold", threshold, 1)
        super().__init__()

    def forget_trial(self) -> None:
        self.cleaning = True

    def forget_episode(self) -> None:
        self.removed_by_others: set[int] = set()

    def remember(self, transition: Any) -> None:
        for info in self.others_infos(transition):
            drift = info.get("removed_drift")
            if drift is not None:
                self.removed_by_others.add(int(drift))

    def summarise_episode(self) -> None:
        self.cleaning = len(self.removed_by_others) >= self.threshold

    def choose(
        self, board: Board, mask: np.ndarray, observation: Mapping[str, Any]
    ) -> tuple[int, ...]:
        return self.clean_or_wander(board, mask, self.cleaning)
