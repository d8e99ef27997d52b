"""Where HOP+'s weights live: the folder layout and the shipped checkpoints.

A HOP+ weights folder holds ``focal/`` (HOP's focal policy/value net), ``subgoal_model/``
and ``prior_vae/``, each a network saved as safetensors + JSON. A folder written by
``hop-bench train --agent hop-plus`` also holds ``training.json`` (the run's configuration
and counters), ``log.csv`` and ``optimizers/``. The shipped checkpoint of an env is
``agents/hop_plus/checkpoints/<env>/`` (``MarkovStagHunt-v0`` ...).
"""

from __future__ import annotations

import os
from pathlib import Path

from hop_envs.registration import full_env_id

__all__ = [
    "FOCAL_DIR",
    "NETWORK_DIRS",
    "PRIOR_DIR",
    "SHIPPED_ROOT",
    "SUBGOAL_DIR",
    "resolve_weights",
    "shipped_dir",
]

FOCAL_DIR, SUBGOAL_DIR, PRIOR_DIR = "focal", "subgoal_model", "prior_vae"
NETWORK_DIRS = (FOCAL_DIR, SUBGOAL_DIR, PRIOR_DIR)
SHIPPED_ROOT = Path(__file__).resolve().parent / "checkpoints"
DEFAULT = "default"


def shipped_dir(env_id: str) -> Path:
    """The folder of the shipped HOP+ checkpoint of ``env_id``."""
    return SHIPPED_ROOT / full_env_id(env_id).split("/", 1)[1]


def _complete(path: Path) -> bool:
    return all((path / d / "config.json").is_file() for d in NETWORK_DIRS)


def resolve_weights(weights: str | os.PathLike[str] | None, env_id: str) -> Path | None:
    """The weights folder ``hop-plus`` loads: None (untrained networks), ``"default"`` (the
    shipped checkpoint of ``env_id``) or a folder holding the three networks."""
    if weights is None:
        return None
    if isinstance(weights, str) and weights == DEFAULT:
        path = shipped_dir(env_id)
        if not _complete(path):
            raise FileNotFoundError(
                f"no shipped HOP+ checkpoint for {full_env_id(env_id)} (looked in {path}); "
                "train one with 'hop-bench train --agent hop-plus', or use untrained networks "
                "(weights=None)"
            )
        return path
    if not isinstance(weights, str | os.PathLike):
        raise ValueError(f"weights must be None, 'default' or a folder path, got {weights!r}")
    path = Path(weights)
    if not _complete(path):
        raise FileNotFoundError(
            f"HOP+ weights folder {path} must hold {', '.join(d + '/' for d in NETWORK_DIRS)} "
            "(written by 'hop-bench train --agent hop-plus' or HopPlusAgent.save)"
        )
    return path
