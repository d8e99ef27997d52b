"""baselines: learners from the literature behind the Agent protocol (DESIGN §1, §5).

Importing this package registers the single-seat Gymnasium views of the games,
``hop/MarkovStagHuntFocal-v0`` and ``hop/MarkovSnowdriftFocal-v0``, in Gymnasium's registry
(:mod:`baselines.focal_env`). The learners (PPO with action masks, A2C, prosocial PPO,
recurrent PPO) are in :mod:`baselines.sb3`; torch and Stable-Baselines3 are imported only when
one of them is made or trained.
"""

from baselines.focal_env import FOCAL_ENV_IDS, FocalSeatEnv, register_focal_envs

register_focal_envs()

__all__ = ["FOCAL_ENV_IDS", "FocalSeatEnv", "register_focal_envs"]
