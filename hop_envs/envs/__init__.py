"""PettingZoo environment classes."""

from hop_envs.envs.base import GridGameEnv
from hop_envs.envs.snowdrift import MarkovSnowdriftEnv
from hop_envs.envs.stag_hunt import MarkovStagHuntEnv

__all__ = ["GridGameEnv", "MarkovSnowdriftEnv", "MarkovStagHuntEnv"]
