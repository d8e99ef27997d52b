"""The Stable-Baselines3 learners by name: which algorithm, which reward, which memory.

This module imports no torch, so listing the learners is cheap.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

#: The SB3 algorithms the learners are built on.
ALGORITHMS = ("maskable-ppo", "a2c", "recurrent-ppo")


@dataclass(frozen=True)
class Learner:
    """One learning baseline.

    ``reward_mode`` is the env's reward the learner trains on (``"prosocial"``: every player
    gets the mean reward); like every agent it is *evaluated* on its own return.
    ``uses_masks``: the policy samples only legal actions (MaskablePPO); the others may pick
    an illegal action, which the env runs as stay. ``episodes_per_trial``: game episodes per
    training episode; the recurrent learner keeps its LSTM state across the episodes of a
    trial (RL²-style) and is trained on trials of this many episodes.
    """

    name: str
    algorithm: str
    reward_mode: str
    uses_masks: bool
    recurrent: bool
    episodes_per_trial: int
    description: str
    #: Adds the social-influence reward (:mod:`baselines.social_influence`) and trains a MOA.
    influence: bool = False

    def __post_init__(self) -> None:
        if self.algorithm not in ALGORITHMS:
            raise ValueError(
                f"Learner {self.name!r}: algorithm must be one of {list(ALGORITHMS)}, "
                f"got {self.algorithm!r}"
            )
        if self.reward_mode not in ("selfish", "prosocial"):
            raise ValueError(
                f"Learner {self.name!r}: reward_mode must be 'selfish' or 'prosocial', "
                f"got {self.reward_mode!r}"
            )
        if self.episodes_per_trial < 1:
            raise ValueError(
                f"Learner {self.name!r}: episodes_per_trial must be >= 1, "
                f"got {self.episodes_per_trial}"
            )


LEARNERS: dict[str, Learner] = {
    learner.name: learner
    for learner in (
        Learner(
            "ppo",
            "maskable-ppo",
            "selfish",
            uses_masks=True,
            recurrent=False,
            episodes_per_trial=1,
            description="PPO with action masks (sb3-contrib MaskablePPO), selfish reward",
        ),
        Learner(
            "a2c",
            "a2c",
            "selfish",
            uses_masks=False,
            recurrent=False,
            episodes_per_trial=1,
            description="A2C (SB3), the synchronous stand-in for the HOP paper's A3C",
        ),
        Learner(
            "prosocial-ppo",
            "maskable-ppo",
            "prosocial",
            uses_masks=True,
            recurrent=False,
            episodes_per_trial=1,
            description="MaskablePPO trained on the prosocial reward (the mean of all players)",
        ),
        Learner(
            "recurrent-ppo",
            "recurrent-ppo",
            "selfish",
            uses_masks=False,
            recurrent=True,
            episodes_per_trial=4,
            description="RecurrentPPO (sb3-contrib) whose LSTM state persists across the "
            "episodes of a trial: an RL²-style few-shot learner",
        ),
        Learner(
            "social-influence",
            "maskable-ppo",
            "selfish",
            uses_masks=True,
            recurrent=False,
            episodes_per_trial=1,
            description="MaskablePPO plus the social-influence reward of Jaques et al. (2019): "
            "a model of other agents (MOA) and the causal influence of its action on them",
            influence=True,
        ),
    )
}


def learner(name: str) -> Learner:
    """The learner called ``name``; ``ValueError`` listing the learners otherwise."""
    try:
        return LEARNERS[name]
    except KeyError:
        close = difflib.get_close_matches(str(name), list(LEARNERS), n=2)
        hint = f"; did you mean {close}?" if close else ""
        raise ValueError(
            f"unknown learning baseline {name!r}; known ones are {sorted(LEARNERS)}{hint}"
        ) from None
