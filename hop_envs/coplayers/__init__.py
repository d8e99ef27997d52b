"""Rule-based co-players (DESIGN §4) and the co-player registry, numpy only.

The training population. Stag hunt: ``random``, ``nearest-stag``, ``nearest-hare``.
Snowdrift: ``random``, ``free-rider``, ``cleaner``. Each follows the Agent protocol by duck
typing, acts from its observation alone, draws from one RNG seeded through
``reset(seed=...)``, and exposes ``action_distribution(observation)``, the exact
distribution ``act`` samples from. Each also has a batched twin acting on many observations
in one numpy call (:func:`batched_policy`, :mod:`hop_envs.coplayers.batched`).

The held-out population (evaluation only, :data:`HELDOUT_COPLAYERS`), whose play the first
steps do not reveal. Stag hunt: ``patient-stag``, ``alternator``, ``reciprocator``,
``stag-follower``. Snowdrift: ``lazy-cleaner``, ``late-cleaner``, ``conditional-cleaner``,
``reciprocal-cleaner``. Those that act on memory (all but ``late-cleaner``) have no
``action_distribution``.

Other packages add co-players through the entry-point group ``hop_bench.coplayers``::

    [project.entry-points."hop_bench.coplayers"]
    my-coplayer = "my_pkg.players:MyCoplayer"

or name them by ``module:Class`` path; see :mod:`hop_envs.coplayers.registry`.
"""

from hop_envs.coplayers.base import SNOWDRIFT_ID, STAG_HUNT_ID, CoplayerBase, RuleBasedCoplayer
from hop_envs.coplayers.batched import (
    BATCHED_POLICIES,
    BatchedFreeRider,
    BatchedPolicy,
    BatchedRandom,
    BatchedSeeker,
    batched_names,
    batched_policy,
    draw_uniform,
    nearest_target_distances,
)
from hop_envs.coplayers.heldout_snowdrift import (
    ConditionalCleaner,
    LateCleaner,
    LazyCleaner,
    ReciprocalCleaner,
)
from hop_envs.coplayers.heldout_stag_hunt import Alternator, PatientStag, Reciprocator, StagFollower
from hop_envs.coplayers.memory import MemoryCoplayer
from hop_envs.coplayers.random_play import FreeRider, RandomCoplayer
from hop_envs.coplayers.registry import (
    BUILTIN_COPLAYERS,
    COPLAYER_ENTRY_POINT_GROUP,
    COPLAYERS,
    HELD_OUT,
    HELDOUT_COPLAYERS,
    LEARNED,
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
    "BATCHED_POLICIES",
    "BUILTIN_COPLAYERS",
    "COPLAYERS",
    "COPLAYER_ENTRY_POINT_GROUP",
    "HELDOUT_COPLAYERS",
    "HELD_OUT",
    "LEARNED",
    "PLUGIN",
    "SNOWDRIFT_ID",
    "STAG_HUNT_ID",
    "TRAINING",
    "Alternator",
    "BatchedFreeRider",
    "BatchedPolicy",
    "BatchedRandom",
    "BatchedSeeker",
    "Cleaner",
    "ConditionalCleaner",
    "CoplayerBase",
    "FreeRider",
    "LateCleaner",
    "LazyCleaner",
    "MemoryCoplayer",
    "NearestHare",
    "NearestObjectSeeker",
    "NearestStag",
    "PatientStag",
    "RandomCoplayer",
    "ReciprocalCleaner",
    "Reciprocator",
    "RuleBasedCoplayer",
    "StagFollower",
    "batched_names",
    "batched_policy",
    "coplayer_entry",
    "coplayer_names",
    "coplayer_population",
    "draw_uniform",
    "make_coplayer",
    "nearest_target_distances",
    "register_coplayer",
]
