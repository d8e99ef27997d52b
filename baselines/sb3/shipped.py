"""Where the learners' shipped checkpoints live, and which exist (no torch imported).

``baselines/checkpoints/<learner>/<EnvName-vN>/policy.{json,safetensors}``, made by
``hop-bench train --agent <learner>`` with the commands in ``docs/baselines.md``.
"""

from __future__ import annotations

from pathlib import Path

from baselines.sb3.learners import LEARNERS
from hop_envs.registration import full_env_id

SHIPPED_DIR = Path(__file__).resolve().parent.parent / "checkpoints"


def shipped_checkpoint(learner_name: str, env_id: str) -> Path:
    """The folder of the shipped checkpoint of ``learner_name`` for ``env_id``."""
    return SHIPPED_DIR / learner_name / full_env_id(env_id).split("/", 1)[1]


def shipped_learners(env_id: str) -> list[str]:
    """The learners with a shipped checkpoint for ``env_id``, sorted."""
    return sorted(
        name for name in LEARNERS if (shipped_checkpoint(name, env_id) / "policy.json").is_file()
    )
