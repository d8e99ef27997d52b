"""Where the learning baselines' shipped checkpoints live, and which exist (no torch imported).

``baselines/checkpoints/<learner>/<EnvName-vN>/``, made by ``hop-bench train --agent
<learner>`` and copied there by ``python -m baselines.shipping`` (see ``docs/baselines.md``).
Every shipped folder holds the run's ``run.json``; the weights' files depend on the learner.
"""

from __future__ import annotations

from pathlib import Path

from baselines.sb3.learners import LEARNERS
from hop_envs.registration import full_env_id

SHIPPED_DIR = Path(__file__).resolve().parent / "checkpoints"

#: Every learning baseline that ``hop-bench train`` trains and that can ship weights: the
#: Stable-Baselines3 learners, then the opponent-aware ones with trainers of their own.
LEARNING_BASELINES: tuple[str, ...] = (*LEARNERS, "lola", "pr2")


def shipped_checkpoint(learner_name: str, env_id: str) -> Path:
    """The folder of the shipped checkpoint of ``learner_name`` for ``env_id``."""
    return SHIPPED_DIR / learner_name / full_env_id(env_id).split("/", 1)[1]


def shipped_learners(env_id: str) -> list[str]:
    """The learning baselines with a shipped checkpoint for ``env_id``, sorted."""
    return sorted(
        name
        for name in LEARNING_BASELINES
        if (shipped_checkpoint(name, env_id) / "run.json").is_file()
    )
