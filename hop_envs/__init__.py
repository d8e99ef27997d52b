"""hop_envs: the Markov Stag-Hunt and Markov Snowdrift games as PettingZoo environments.

Importing this package registers ``hop/MarkovStagHunt-v0`` and ``hop/MarkovSnowdrift-v0``
in PettingZoo's registry (parallel and AEC). It never imports torch.
"""

from hop_envs.core import (
    BatchedGame,
    BatchedObservation,
    BatchedState,
    GridState,
    SnowdriftConfig,
    SnowdriftRules,
    StagHuntConfig,
    StagHuntRules,
)
from hop_envs.envs import MarkovSnowdriftEnv, MarkovStagHuntEnv
from hop_envs.registration import ENV_IDS, full_env_id, make, register_envs

register_envs()

__version__ = "0.1.0"

__all__ = [
    "ENV_IDS",
    "BatchedGame",
    "BatchedObservation",
    "BatchedState",
    "GridState",
    "MarkovSnowdriftEnv",
    "MarkovStagHuntEnv",
    "SnowdriftConfig",
    "SnowdriftRules",
    "StagHuntConfig",
    "StagHuntRules",
    "full_env_id",
    "make",
    "register_envs",
]
