"""Co-players that move at random: ``random`` (both games) and ``free-rider`` (snowdrift)."""

from __future__ import annotations

import numpy as np

from hop_envs.coplayers.base import SNOWDRIFT_ID, STAG_HUNT_ID, RuleBasedCoplayer, legal_actions
from hop_envs.core.layout import STAY
from hop_envs.core.snowdrift import SnowdriftRules


class RandomCoplayer(RuleBasedCoplayer):
    """Uniform over the legal actions (hunts and removes included where legal)."""

    name = "random"
    supported_envs = (STAG_HUNT_ID, SNOWDRIFT_ID)

    def choices(self, grid: np.ndarray, mask: np.ndarray) -> tuple[int, ...]:
        return legal_actions(mask, self.name)


class FreeRider(RuleBasedCoplayer):
    """Snowdrift: uniform over the legal moves and stay; never removes a drift.

    It lives off the drifts the others clear."""

    name = "free-rider"
    supported_envs = (SNOWDRIFT_ID,)
    num_actions = len(SnowdriftRules.action_names)

    def choices(self, grid: np.ndarray, mask: np.ndarray) -> tuple[int, ...]:
        options = tuple(a for a in legal_actions(mask, self.name) if a <= STAY)
        if STAY not in options:
            raise ValueError(
                f"co-player {self.name!r}: observation['action_mask'] must allow stay "
                f"(action {STAY}), got {mask.tolist()}"
            )
        return options
