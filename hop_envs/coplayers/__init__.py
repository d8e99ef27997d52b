"""Rule-based co-players (DESIGN §4) and the co-player registry, numpy only.

Stag hunt: ``random``, ``nearest-stag``, ``nearest-hare``. Snowdrift: ``random``,
``free-rider``, ``cleaner``. Each follows the Agent protocol by duck typing, acts from its
observation alone, draws from one RNG seeded through ``reset(seed=...)``, and exposes
``action_distribution(observation)``, the exact distribution ``act`` samples from.

Other packages add co-players through the entry-point group ``hop_bench.coplayers``::

    [project.entry-points."hop_bench.coplayers"]
    my-coplayer = "my_pkg.players:MyCoplayer"

or name them by ``module:Class`` path; see :mod:`hop_envs.coplayers.registry`.
"""

from hop_envs.coplayers.base import SNOWDRIFT_ID, STAG_HUNT_ID, RuleBasedCoplayer
from hop_envs.coplayers.random_play import FreeRider, RandomCoplayer
from hop_envs.coplayers.registry import (
    BUILTIN_COPLAYERS,
    COPLAYER_ENTRY_POINT_GROUP,
    COPLAYERS,
    HELD_OUT,
    HELDOUT_COPLAYERS,
    PLUGIN,
    TRAINING,
    coplayer_entry,
    coplayer_names,
    coplayer_population,
    make_coplayer,
    register_coplayer,
)
from hop_envs.coplayers.seekers import Cleaner, NearestHare, NearestObjectSeeker, NearestStag

__all__ = [
    "BUILTIN_COPLAYERS",
    "COPLAYERS",
    "COPLAYER_ENTRY_POINT_GROUP",
    "HELDOUT_COPLAYERS",
    "HELD_OUT",
    "PLUGIN",
    "SNOWDRIFT_ID",
    "STAG_HUNT_ID",
    "TRAINING",
    "Cleaner",
    "FreeRider",
    "NearestHare",
    "NearestObjectSeeker",
    "NearestStag",
    "RandomCoplayer",
    "RuleBasedCoplayer",
    "coplayer_entry",
    "coplayer_names",
    "coplayer_population",
    "make_coplayer",
    "register_coplayer",
]
